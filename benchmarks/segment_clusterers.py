"""Which online clustering for the behavioural segments: River's, or k-means warm-started from the stream.

    python benchmarks/segment_clusterers.py [FILE ...]

Replays each file (default: the Taobao and CDNOW samples) through the real feature
state and the segment model, with the same features and triggers, and only the
clusterer swapped (River's own assignment, without the scorer's hysteresis): River's ``KMeans`` (random centres, its default step),
``STREAMKMeans`` and ``DBSTREAM`` (ids capped at the bound: DBSTREAM's macro-cluster
count is not bounded and its ids are renumbered on every re-clustering), against the
scorer's :class:`~scorer.segments.Clusters`. Prints, per file and clusterer, the
spread best/worst of the 7-day purchase rate, the daily churn, the number of
clusters that hold users, and the observe cost per update.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import orjson
from river import cluster, preprocessing

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scorer.datasets import read_events  # noqa: E402
from scorer.events import InvalidEvent, PurchaseEvent, decode_click, decode_purchase  # noqa: E402
from scorer.features import UserState  # noqa: E402
from scorer.segments import Clusters, SegmentModel, segment_report  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BOUND = 6


class RiverClusters:
    """A River clusterer behind the segment model's ``learn`` / ``assign``, ids capped at ``BOUND``."""

    def __init__(self, clusterer) -> None:
        self.clusterer = clusterer
        self.scaler = preprocessing.StandardScaler()

    def learn(self, raw: dict[str, float], current: int | None) -> int:
        # The same log scale as the scorer's clusters.
        x = {name: math.log1p(max(value, 0.0)) for name, value in raw.items()}
        self.scaler.learn_one(x)
        z = self.scaler.transform_one(x)
        self.clusterer.learn_one(z)
        return int(self.clusterer.predict_one(z)) % BOUND

    def centre(self, cluster_id: int) -> dict[str, float]:
        return {}


def events_of(path: Path) -> list:
    decoded = []
    for kind, doc in read_events([path]):
        doc = {k: v for k, v in doc.items() if v != ""}
        try:
            decoded.append((decode_click if kind == "click" else decode_purchase)(orjson.dumps(doc)))
        except InvalidEvent:
            pass
    return sorted(decoded, key=lambda e: e.ts)


def replay(events: list, clusters) -> tuple[dict, float, int]:
    model = SegmentModel(clusters)
    model.history = []
    states: dict[str, UserState] = {}
    fields: dict = {}
    purchases: dict[str, list[int]] = {}
    spent = 0.0
    for event in events:
        state = states.setdefault(event.user_id, UserState())
        if state.is_expired(event.ts):
            # As in the engine: a user idle beyond the state TTL starts afresh.
            state = states[event.user_id] = UserState()
            fields.pop(event.user_id, None)
        state.update(event)
        if isinstance(event, PurchaseEvent):
            purchases.setdefault(event.user_id, []).append(event.ts)
        started = time.perf_counter()
        fields[event.user_id], _ = model.observe(fields.get(event.user_id), event, state)
        spent += time.perf_counter() - started
    report = segment_report(model.history, purchases, events[0].ts, events[-1].ts)
    return report, spent / max(model.updates, 1), model.updates


def main(paths: list[Path]) -> None:
    candidates = {
        "scorer Clusters": lambda: Clusters(n_clusters=BOUND),
        "river KMeans": lambda: RiverClusters(cluster.KMeans(n_clusters=BOUND, seed=42)),
        "river STREAMKMeans": lambda: RiverClusters(cluster.STREAMKMeans(chunk_size=100, n_clusters=BOUND, seed=42)),
        "river DBSTREAM": lambda: RiverClusters(cluster.DBSTREAM()),
    }
    for path in paths:
        events = events_of(path)
        for name, make in candidates.items():
            report, cost, updates = replay(events, make())
            section = report["clusters"]
            used = sum(1 for row in section["segments"] if row["share"] >= 0.02)
            spread = section["spread"]
            print(
                f"{path.name:24} {name:20} spread {spread if spread is None else round(spread, 2)!s:>6}"
                f"  churn {section['daily_churn']:.2%}  clusters >=2% {used}  {cost * 1e6:6.1f} us/update ({updates} updates)"
                f"  [rfm spread {report['rfm']['spread']:.2f}]"
            )


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or [DATA / "taobao-even-users.csv", DATA / "cdnow" / "CDNOW_master.txt"])
