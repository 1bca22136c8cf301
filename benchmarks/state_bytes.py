"""Serialized bytes of per-user state on synthetic traffic.

    python benchmarks/state_bytes.py [--events 200000] [--users 20000]

Runs the built-in traffic generator through the scoring engine with its
recommender (the code the worker runs, partitioned like a worker with 8
partitions) and prints the size of every user's stored record at the end:
mean, median, p99 and max, overall and for users with pending examples.
"""

from __future__ import annotations

import argparse
import statistics

import orjson

from scorer.events import decode_click, decode_purchase, partition_for
from scorer.datasets import TrafficGenerator
from scorer.scoring import MemoryStore, ScoringEngine, ScoringPipeline
from scorer.propensity import PropensityModel
from scorer.recommend import Recommender


def measure(events: int, users: int, seed: int = 42) -> dict[str, float]:
    store = MemoryStore()
    engine = ScoringEngine(ScoringPipeline(PropensityModel("logreg", lineage="bench")), store, Recommender())
    for position, (kind, doc) in enumerate(TrafficGenerator(users=users, items=max(100, users // 2), seed=seed).take(events)):
        raw = orjson.dumps(doc)
        event = decode_click(raw) if kind == "click" else decode_purchase(raw)
        key = event.user_id.encode()
        engine.process(0 if kind == "click" else 1, partition_for(key, 8), position, key, event)
    records = list(store.values())
    sizes = sorted(len(r.to_bytes()) for r in records)
    pending = sorted(len(r.to_bytes()) for r in records if len(r.pending))
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
