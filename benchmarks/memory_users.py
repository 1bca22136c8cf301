"""Worker memory as the number of users in state grows, on the embedded broker.

    python benchmarks/memory_users.py [--users 1000000] [--every 100000]

Produces one product view for each of ``--users`` distinct users (the long
tail of a shop: most users visit once), runs a real worker on them with the
on-disk store (RocksDB, as in production) and prints, every ``--every`` users
consumed, the worker's resident memory, its users in state and the bytes of
state it reports. Each user keeps one pending example: the views span under
an hour of event time, so no conversion window closes.

The worker holds up to 100,000 decoded records in memory (the record cache);
beyond that, growth per user is RocksDB's and Faust's per-key bookkeeping.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families
from rich.progress import track

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scorer.datasets import BRANDS, CATEGORIES, CHANNELS, DEVICES, START_MS  # noqa: E402
from scorer.tools import EmbeddedBroker, free_port  # noqa: E402
from scorer.kafka import Publisher  # noqa: E402
from scorer.settings import Settings  # noqa: E402
from scorer.tools import health, start_worker, stop_process, wait_until_assigned  # noqa: E402
from scorer.kafka import create_topics  # noqa: E402


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def _gauges(settings: Settings) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


def produce_views(settings: Settings, users: int) -> None:
    out = Publisher(settings)
    for i in track(range(users), description="producing views"):
        user = f"user-{i}"
        event = {
            "event_id": f"mem-{i}",
            "user_id": user,
            "ts": START_MS + i * 3,
            "type": "product_view",
            "item_id": f"item-{(i * 7919) % 10_000}",
            "category": CATEGORIES[i % len(CATEGORIES)],
            "brand": BRANDS[i % len(BRANDS)],
            "price": 5.0 + i % 200,
            "device": DEVICES[i % len(DEVICES)],
            "channel": CHANNELS[i % len(CHANNELS)],
            "session_id": f"s-{i}",
        }
        out.produce(settings.topic_clickstream, user.encode(), orjson.dumps(event))
        if i % 1000 == 0:
            out.poll()
    out.flush(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scorer-memory-"))
    port = free_port()
    with EmbeddedBroker(port, log_path=work / "broker.log"):
        settings = Settings().replace(broker=f"127.0.0.1:{port}", data_dir=str(work), session_timeout_s=6.0, store="rocksdb")
        settings = settings.isolated(f"mem-{uuid.uuid4().hex[:6]}").replace(web_port=free_port())
        create_topics(settings)
        produce_views(settings, args.users)
        process = start_worker(settings, work / "worker.log")
        try:
            wait_until_assigned(settings, process, timeout_s=120)
            print(f"{'users consumed':>15} {'RSS MB':>8} {'peak MB':>8} {'users in state':>15} {'state MB':>9}")
            mark = args.every
            deadline = time.monotonic() + 4 * 3600
            while time.monotonic() < deadline:
                consumed = sum(((health(settings) or {}).get("consumed") or {}).values())
                if consumed >= min(mark, args.users):
                    gauges = _gauges(settings)
                    print(
                        f"{consumed:>15,} {_rss_mb(process.pid, 'VmRSS:'):>8.0f} {_rss_mb(process.pid, 'VmHWM:'):>8.0f} "
                        f"{gauges.get('scorer_users_in_state', float('nan')):>15,.0f} "
                        f"{gauges.get('scorer_state_bytes', float('nan')) / 2**20:>9.1f}",
                        flush=True,
                    )
                    if consumed >= args.users:
                        break
                    mark += args.every
                time.sleep(1)
        finally:
            stop_process(process)


if __name__ == "__main__":
    main()
