"""Latency of one recommendation list, on a warmed model over a 100k-item synthetic catalogue.

    python benchmarks/reco_latency.py                      # defaults: 100k items, 400k warm-up clicks
    python benchmarks/reco_latency.py --items 100000 --warm 1000000 --lists 20000
    python benchmarks/reco_latency.py --memory              # also bytes held per item and per session (slower)

A benchmark, never a timed test: it prints figures and asserts nothing.

The catalogue has ``--categories`` categories of equal size; item popularity
is Zipf-like within a category and across categories, so the popular items'
neighbour rows and index entries fill up to their bounds (the worst case for
``recommend``). A synthetic session picks a category, views a few of its
items (sometimes re-viewing one) and now and then strays to another category.
Timed lists are asked for sessions of 1 to 20 views, after their latest view,
exactly as the worker asks for them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc

from scorer.events import ClickEvent
from scorer.bench import zipf_index
from scorer.recommend import Recommender, RecommenderConfig, SessionItems

T0 = 1_700_000_000_000


def synthetic_sessions(rnd: random.Random, items: int, categories: int, clicks: int, start_ts: int):
    """Yield (user, session id, item, category, ts) for about ``clicks`` views."""
    per_category = items // categories
    ts = start_ts
    session_no = 0
    produced = 0
    while produced < clicks:
        session_no += 1
        user = f"u{rnd.randrange(clicks // 4 + 1)}"
        session = f"s{session_no}"
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
            yield user, session, f"i{item}", f"c{item // per_category}", ts


def print_memory(reco: Recommender) -> None:
    """Bytes still held, by the module that allocated them, per item and per kept session."""
    held: dict[str, int] = {}
    for stat in tracemalloc.take_snapshot().statistics("filename"):
        name = stat.traceback[0].filename.rsplit("/", 1)[-1]
        held[name] = held.get(name, 0) + stat.size
    items, sessions = len(reco.cooccurrence), len(reco.knn)
    co, knn, pop = held.get("cooccurrence.py", 0), held.get("session_knn.py", 0), held.get("popularity.py", 0)
    print(
        f"memory: co-occurrence {co / 2**20:.1f} MiB ({co / items:.0f} B per item), "
        f"session-kNN {knn / 2**20:.1f} MiB ({knn / sessions:.0f} B per session), "
        f"popularity {pop / 2**20:.1f} MiB ({pop / max(1, len(reco.popularity)):.0f} B per item); "
        "id strings, allocated by the caller, not included"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--categories", type=int, default=1_000)
    parser.add_argument("--warm", type=int, default=400_000, help="clicks learned before timing")
    parser.add_argument("--lists", type=int, default=10_000, help="lists timed")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--memory", action="store_true", help="trace allocations while warming (about 3x slower)")
    args = parser.parse_args(argv)
    if args.memory:
        tracemalloc.start()

    rnd = random.Random(args.seed)
    reco = Recommender(RecommenderConfig())
    sessions: dict[str, SessionItems] = {}
    started = time.perf_counter()
    last_ts = T0
    for n, (user, session_id, item, category, ts) in enumerate(
        synthetic_sessions(rnd, args.items, args.categories, args.warm, T0)
    ):
        event = ClickEvent(f"w{n}", user, ts, "product_view", item_id=item, category=category, session_id=session_id)
        reco.observe(sessions.setdefault(user, SessionItems()), event)
        last_ts = ts
    warm_s = time.perf_counter() - started
    if args.memory:
        print_memory(reco)
        tracemalloc.stop()

    timings_us: list[float] = []
    lengths: list[int] = []
    observe_us: list[float] = []
    for n, (user, session_id, item, category, ts) in enumerate(
        synthetic_sessions(rnd, args.items, args.categories, args.lists, last_ts)
    ):
        event = ClickEvent(f"t{n}", user, ts, "product_view", item_id=item, category=category, session_id=session_id)
        session = sessions.setdefault(user, SessionItems())
        begin = time.perf_counter_ns()
        reco.observe(session, event)
        middle = time.perf_counter_ns()
        reco.recommend(session, event, k=args.k)
        end = time.perf_counter_ns()
        observe_us.append((middle - begin) / 1000)
        timings_us.append((end - middle) / 1000)
        lengths.append(len(session.items))

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=1000)[int(q * 10) - 1]

    rows = reco.cooccurrence.row_sizes()
    print(
        f"model: {len(reco.cooccurrence)} items counted (mean neighbour row {statistics.mean(rows):.1f}, "
        f"max {max(rows)}), {len(reco.knn)} sessions kept; warmed with {args.warm} clicks in {warm_s:.1f} s"
    )
    print(f"recommend (k={args.k}) over {len(timings_us)} lists, session length mean {statistics.mean(lengths):.1f}:")
    print(
        f"  p50 {statistics.median(timings_us) / 1000:.3f} ms   p99 {pct(timings_us, 99) / 1000:.3f} ms   "
        f"max {max(timings_us) / 1000:.3f} ms"
    )
    print(f"observe: p50 {statistics.median(observe_us) / 1000:.3f} ms   p99 {pct(observe_us, 99) / 1000:.3f} ms")


if __name__ == "__main__":
    main()
