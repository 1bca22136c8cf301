"""Cost of the recommender per observed event and per list, on synthetic catalogues of growing size.

    python -m scorer.bench.catalogue                       # 10k, 100k and 1M items, one process each
    python -m scorer.bench.catalogue --items 100000        # one size, in this process
    python -m scorer.bench.catalogue --warm 400000 --json  # fewer warm-up clicks; JSON lines

A benchmark, never a timed test: it prints figures and asserts nothing.

The catalogue has ``--categories`` categories of equal size; item popularity is
Zipf-like within a category and across categories (a long tail), so popular
items' neighbour rows and index entries fill up to their bounds, the worst case
for a list. A synthetic session picks a category, views a few of its items
(sometimes re-viewing one) and now and then strays to another category. Users
come back (about four sessions each). After warming the model, every timed click
is observed and then a list is built for its session, as the worker does.
Times are CPU time of the process (``time.process_time_ns``), so that other
processes on a shared machine do not inflate them.

Memory is the growth of the process's resident set over warming (``/proc``),
so each size runs in its own process when several are asked for.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import orjson

from scorer.events import ClickEvent
from scorer.recommend import Recommender, RecommenderConfig, SessionItems

T0 = 1_700_000_000_000
SIZES = (10_000, 100_000, 1_000_000)


def zipf_index(rnd: random.Random, n: int, s: float = 1.1) -> int:
    """An index in [0, n) drawn roughly Zipf(s)-like: small indices are much likelier."""
    # Inverse CDF of a continuous power law on [1, n + 1): cheap and close enough for load.
    u = rnd.random()
    a = 1.0 - s
    x = ((n + 1) ** a * u + (1 - u)) ** (1.0 / a)
    return min(n - 1, int(x) - 1)


def synthetic_clicks(rnd: random.Random, items: int, categories: int, clicks: int, start_ts: int) -> Iterator[ClickEvent]:
    """About ``clicks`` product views in sessions of a few views, over a long-tailed catalogue."""
    per_category = max(1, items // categories)
    ts = start_ts
    session_no = produced = 0
    while produced < clicks:
        session_no += 1
        user = f"u{rnd.randrange(clicks // 16 + 1)}"
        session = f"s{start_ts}-{session_no}"
        category = zipf_index(rnd, categories, 1.05)
        length = min(40, 1 + int(rnd.expovariate(1 / 4)))
        seen: list[int] = []
        for _ in range(length):
            if seen and rnd.random() < 0.3:
                item = rnd.choice(seen)  # users go back to what they saw
            else:
                if rnd.random() < 0.1:
                    category = zipf_index(rnd, categories, 1.05)
                item = category * per_category + zipf_index(rnd, per_category)
                seen.append(item)
            ts += rnd.randrange(1, 400)  # many users at once: about 5 clicks per second
            produced += 1
            yield ClickEvent(
                f"c{produced}", user, ts, "product_view", item_id=f"i{item}", category=f"c{item // per_category}", session_id=session
            )


def resident_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def measure(items: int, categories: int, warm: int, lists: int, k: int, seed: int) -> dict[str, float]:
    """Warm a recommender on ``warm`` clicks, then time ``lists`` observe + list pairs."""
    rnd = random.Random(seed)
    reco = Recommender(RecommenderConfig())
    sessions: dict[str, SessionItems] = {}
    before = resident_bytes()
    started = time.process_time()
    last_ts = T0
    for event in synthetic_clicks(rnd, items, categories, warm, T0):
        reco.observe(sessions.setdefault(event.user_id, SessionItems()), event)
        last_ts = event.ts
    warm_s = time.process_time() - started
    grown = resident_bytes() - before

    observe_ns: list[int] = []
    list_ns: list[int] = []
    # CPU time of this process, not wall time: on a shared machine other processes' load stays out.
    clock = time.process_time_ns
    for event in synthetic_clicks(rnd, items, categories, lists, last_ts + 1):
        session = sessions.setdefault(event.user_id, SessionItems())
        begin = clock()
        reco.observe(session, event)
        middle = clock()
        reco.recommend_with_strategy(session, event, k)
        end = clock()
        observe_ns.append(middle - begin)
        list_ns.append(end - middle)

    def quantile(values: list[int], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] / 1000

    return {
        "items": items,
        "items_seen": len(reco.cooccurrence),
        "sessions_kept": len(reco.knn),
        "warm_clicks": warm,
        "warm_s": round(warm_s, 1),
        "warm_us_per_click": round(warm_s / warm * 1e6, 1),
        "observe_us_mean": round(statistics.fmean(observe_ns) / 1000, 1),
        "observe_us_p99": round(quantile(observe_ns, 99), 1),
        "list_us_mean": round(statistics.fmean(list_ns) / 1000, 1),
        "list_us_p50": round(quantile(list_ns, 50), 1),
        "list_us_p99": round(quantile(list_ns, 99), 1),
        "lists": len(list_ns),
        "rss_growth_mb": round(grown / 1e6, 1),
    }


def print_row(row: dict[str, float], as_json: bool) -> None:
    if as_json:
        print(orjson.dumps(row).decode(), flush=True)
        return
    print(
        f"{row['items']:>9,} items ({row['items_seen']:,} seen, {row['sessions_kept']:,} sessions kept): "
        f"warm {row['warm_us_per_click']} us/click; observe mean {row['observe_us_mean']} us, "
        f"p99 {row['observe_us_p99']} us; list mean {row['list_us_mean']} us, p50 {row['list_us_p50']} us, "
        f"p99 {row['list_us_p99']} us; RSS +{row['rss_growth_mb']} MB",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, help="one catalogue size (default: 10k, 100k and 1M, one process each)")
    parser.add_argument("--categories", type=int, default=1_000)
    parser.add_argument("--warm", type=int, default=1_000_000, help="clicks learned before timing")
    parser.add_argument("--lists", type=int, default=20_000, help="observe + list pairs timed")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    args = parser.parse_args(argv)
    if args.items is not None:
        print_row(measure(args.items, args.categories, args.warm, args.lists, args.k, args.seed), args.json)
        return
    common = ["--categories", str(args.categories), "--warm", str(args.warm), "--lists", str(args.lists)]
    common += ["--k", str(args.k), "--seed", str(args.seed)] + (["--json"] if args.json else [])
    for items in SIZES:
        subprocess.run([sys.executable, "-m", "scorer.bench.catalogue", "--items", str(items), *common], check=True)


if __name__ == "__main__":
    main()
