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
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from benchmarks.reco_latency import T0, synthetic_sessions
from scorer.events import ClickEvent
from scorer.recommend import Recommender, RecommenderReplica
from scorer.scoring import ModelSnapshot, seal, unseal


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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
