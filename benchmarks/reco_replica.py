"""A worker's recommender replica at scale: memory per remembered session, snapshot size and time, on-demand p99.

    python benchmarks/reco_replica.py                         # 1M users, 2M clicks on a 100k-item catalogue
    python benchmarks/reco_replica.py --users 100000 --clicks 300000

A benchmark, never a timed test: it prints figures and asserts nothing. The clicks come
from the synthetic catalogue of ``benchmarks/reco_latency.py`` with users drawn from
``--users``, so that nearly every user ends with a remembered session. Memory is the
process's resident set before and after the replay (the catalogue's id strings included);
"feed" is events learned per second in-process, the bound on catch-up before decoding
and fetching; the on-demand lists are asked for users with a session still going, as
``GET /users/{id}/recommendations?k=20`` asks them.

"loop stall" is the longest an event loop was blocked while the worker's feed saved a
snapshot, as a ticker coroutine waking every millisecond sees it: ``save`` seals all on
the loop (the stop's path), ``save_async`` pickles on the loop and compresses and tags in
a thread (the timer's path).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time

from benchmarks.reco_latency import T0, synthetic_sessions
from scorer.events import ClickEvent
from scorer.recommend import Recommender, RecommenderReplica
from scorer.scoring import ModelSnapshot, seal, unseal
from scorer.settings import Settings
from scorer.worker import RecommenderFeed


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _stalled(save) -> tuple[float, float]:
    """Run ``save()`` (a coroutine function) beside a ticker; the longest gap between ticks and the save's time."""
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    await save()
    took = time.perf_counter() - started
    done = True
    await task
    return longest, took


def loop_stalls(replica: RecommenderReplica, positions: dict[str, int]) -> None:
    produced: list[bytes] = []
    feed = RecommenderFeed(Settings(model_key="k" * 32), replica, lambda topic, key, value: produced.append(value), consumer=object())
    feed.positions = dict(positions)

    async def on_loop() -> None:
        feed.save(1_700_000_000.0)

    async def split() -> None:
        await feed.save_async(1_700_000_000.0)

    for name, save in (("save (all on the loop)", on_loop), ("save_async (pickle on the loop, zlib+HMAC in a thread)", split)):
        stall, took = asyncio.run(_stalled(save))
        print(f"loop stall, {name}: longest {stall:.2f} s, seal and produce {took:.2f} s")
    print(f"the two snapshots are byte-identical: {produced[0] == produced[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=2_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--lists", type=int, default=20_000)
    args = parser.parse_args()
    rnd = random.Random(7)
    before = rss_mb()
    replica = RecommenderReplica(Recommender(), max_sessions=args.users)
    started = time.perf_counter()
    n = 0
    for _, session, item, category, ts in synthetic_sessions(rnd, args.items, 100, args.clicks, T0):
        # A session belongs to one of --users users; ids carry no session: derived by inactivity.
        user = f"u{int(session[1:]) % args.users}"
        replica.observe(ClickEvent(f"e{n}", user, ts, "product_view", item_id=item, category=category))
        n += 1
    fed_s = time.perf_counter() - started
    after = rss_mb()
    print(f"fed {n:,} clicks in {fed_s:.1f} s ({n / fed_s:,.0f}/s); remembered sessions {len(replica):,}; "
          f"kNN sessions {len(replica.recommender.knn):,}; items {len(replica.recommender.cooccurrence):,}")
    print(f"memory: {after - before:,.0f} MB resident for the replica ({(after - before) * 2**20 / max(len(replica), 1):,.0f} B per remembered session, model included)")
    key = b"k" * 32
    started = time.perf_counter()
    sealed = seal(ModelSnapshot(replica, {"clickstream/0": n}), key)
    seal_s = time.perf_counter() - started
    started = time.perf_counter()
    restored = unseal(sealed, key).model
    unseal_s = time.perf_counter() - started
    print(f"snapshot: {len(sealed) / 2**20:,.1f} MiB sealed in {seal_s:.2f} s ({len(replica.kept_sessions()):,} sessions kept), "
          f"unsealed in {unseal_s:.2f} s ({len(restored):,} sessions)")
    loop_stalls(replica, {"clickstream/0": n})
    live = list(replica.kept_sessions())
    users = [rnd.choice(live) for _ in range(args.lists)]
    # Wall time includes whatever else the machine runs; CPU time is this process's alone.
    for clock in (time.perf_counter, time.process_time):
        timings = []
        for user in users:
            t = clock()
            replica.recommend(user, 20)
            timings.append(clock() - t)
        timings.sort()
        p50, p99 = timings[len(timings) // 2], timings[int(len(timings) * 0.99)]
        print(f"on demand (k=20, {args.lists:,} lists, {clock.__name__}): p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, "
              f"mean {statistics.mean(timings) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
