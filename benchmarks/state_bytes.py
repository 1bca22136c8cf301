"""Serialized bytes of per-user state on synthetic traffic.

    python benchmarks/state_bytes.py [--events 200000] [--users 20000]

Runs the built-in traffic generator through the scoring pipeline (the code the
worker runs) and prints the size of every user's stored record at the end:
mean, median, p99 and max, overall and for users with pending examples.
"""

from __future__ import annotations

import argparse
import statistics

import orjson

from events import decode_click, decode_purchase
from events.synthetic import TrafficGenerator
from online_models import PropensityModel, ScoringPipeline, UserRecord


def measure(events: int, users: int, seed: int = 42) -> dict[str, float]:
    pipeline = ScoringPipeline(PropensityModel("logreg", lineage="bench"))
    records: dict[str, UserRecord] = {}
    for kind, doc in TrafficGenerator(users=users, items=max(100, users // 2), seed=seed).take(events):
        raw = orjson.dumps(doc)
        event = decode_click(raw) if kind == "click" else decode_purchase(raw)
        records[event.user_id], _ = pipeline.handle(records.get(event.user_id), event)
    sizes = sorted(len(r.to_bytes()) for r in records.values())
    pending = sorted(len(r.to_bytes()) for r in records.values() if len(r.pending))
    return {
        "users": len(sizes),
        "mean": statistics.fmean(sizes),
        "median": statistics.median(sizes),
        "p99": sizes[int(0.99 * (len(sizes) - 1))],
        "max": sizes[-1],
        "users_with_pending": len(pending),
        "mean_with_pending": statistics.fmean(pending) if pending else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    args = parser.parse_args()
    print(orjson.dumps(measure(args.events, args.users), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
