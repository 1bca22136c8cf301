"""Behavioural clusters: sequential k-means over standardised features, with stable ids.

A cluster's id is its index: a centre moves toward the users assigned to it and
never swaps places with another, so an id keeps meaning the same group while that
group drifts, and the count is bounded by construction (``n_clusters``). Each
centre is the running mean of its users (MacQueen's rule, a step of 1/n), down to
a floor of ``halflife`` (River's ``KMeans`` step), so a group that stops growing
keeps its centre and a group that drifts is followed.

Features go on a log scale; River's running :class:`~river.preprocessing.StandardScaler`
moments weight the distances at query time, so centres stay where the users are
when the moments move. Incremental k-means from random centres (River's
``KMeans``, ``STREAMKMeans``) left centres no user was nearest to and one centre
with most users (``benchmarks/segment_clusterers.py``), so the first ``warmup``
updates are kept and the centres start from them by k-means++ and Lloyd passes
(seeded: a replay is reproducible); until then no user has a cluster (``None``).

A user changes cluster only when another centre is nearer than theirs by a margin
(hysteresis): a user halfway between two centres would otherwise flip at every
update and drown the moves that matter.

>>> import random
>>> rng = random.Random(1)
>>> clusters = Clusters(n_clusters=2, warmup=50, seed=1)
>>> clusters.learn({"spend": 1.0}, None) is None  # no centres yet: no cluster
True
>>> for _ in range(400):
...     _ = clusters.learn({"spend": rng.choice((1.0, 500.0)) * (1 + rng.random() / 10)}, None)
>>> low, high = clusters.assign({"spend": 1.0}, None), clusters.assign({"spend": 500.0}, None)
>>> low != high
True
>>> clusters.assign({"spend": 23.0}, high) == high  # between the two, a user keeps their cluster
True
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from typing import Any

from river import preprocessing

__all__ = ["Clusters"]


class Clusters:
    """At most ``n_clusters`` behavioural clusters, learned online; ids stay put as centres move."""

    def __init__(
        self, n_clusters: int = 6, halflife: float = 0.002, margin: float = 0.5, warmup: int = 100, seed: int = 42
    ) -> None:
        self.n_clusters = n_clusters
        self.halflife = halflife
        self.margin = margin
        self.warmup = warmup
        self.seed = seed
        self.scaler = preprocessing.StandardScaler()
        #: Feature names, in the order of every vector here (set by the first update).
        self.names: tuple[str, ...] = ()
        #: Centres on the log scale, by id; empty until the warm-up ends.
        self.centres: list[list[float]] = []
        self.counts: list[int] = []
        self._buffer: list[list[float]] | None = []
        self.learned = 0

    @property
    def warm(self) -> bool:
        return self._buffer is None

    def learn(self, raw: dict[str, float], current: int | None) -> int | None:
        """Learn from one user update and return the user's cluster (``current`` is their last one).

        ``None`` while the warm-up lasts: there are no centres to be near yet.
        """
        if not self.names:
            self.names = tuple(raw)
        logged = _logged_values(raw)
        self.scaler.learn_one(logged)
        x = [logged.get(name, 0.0) for name in self.names]
        self.learned += 1
        if self._buffer is not None:
            self._buffer.append(x)
            # Tried at the end of the warm-up and whenever the buffer has doubled since.
            size = len(self._buffer)
            if size < self.warmup or (size != self.warmup and size & (size - 1)) or not self._start_centres():
                return None
        distances = self._distances(x)
        nearest = min(range(len(distances)), key=distances.__getitem__)
        self.counts[nearest] += 1
        rate = max(1.0 / self.counts[nearest], self.halflife)
        centre = self.centres[nearest]
        for i, value in enumerate(x):
            centre[i] += rate * (value - centre[i])
        return self._keep_or_move(distances, nearest, current)

    def assign(self, raw: dict[str, float], current: int | None) -> int | None:
        """The cluster of ``raw`` without learning from it (``None`` in warm-up)."""
        if not self.warm:
            return None
        distances = self._distances(self._logged(raw))
        return self._keep_or_move(distances, min(range(len(distances)), key=distances.__getitem__), current)

    def _logged(self, raw: dict[str, float]) -> list[float]:
        logged = _logged_values(raw)
        return [logged.get(name, 0.0) for name in self.names]

    def _keep_or_move(self, distances: list[float], nearest: int, current: int | None) -> int:
        if current is not None and current < len(distances) and distances[nearest] >= (1.0 - self.margin) ** 2 * distances[current]:
            return current
        return nearest

    def _weights(self) -> list[float]:
        variances = self.scaler.vars
        return [1.0 / v if (v := variances.get(name, 0.0)) > 0 else 0.0 for name in self.names]

    def _distances(self, x: list[float]) -> list[float]:
        weights = self._weights()
        return [sum(w * (a - b) ** 2 for w, a, b in zip(weights, x, centre)) for centre in self.centres]

    def _start_centres(self) -> bool:
        """k-means++ on the warm-up updates, then Lloyd passes: centres where the users are.

        False (and the warm-up goes on) while the updates hold fewer than ``n_clusters``
        distinct points: a shop's first customers can all look alike (first orders only).
        """
        assert self._buffer is not None
        points, weights = self._buffer, self._weights()

        def distance(a: list[float], b: list[float]) -> float:
            return sum(w * (p - q) ** 2 for w, p, q in zip(weights, a, b))

        rng = random.Random(self.seed)
        starts = [points[rng.randrange(len(points))]]
        while len(starts) < self.n_clusters:
            nearest = [min(distance(p, s) for s in starts) for p in points]
            if not sum(nearest):
                if len(points) < 20 * self.warmup:
                    return False
                break
            starts.append(rng.choices(points, nearest)[0])
        for _ in range(10):
            members: list[list[list[float]]] = [[] for _ in starts]
            for p in points:
                members[min(range(len(starts)), key=lambda i: distance(p, starts[i]))].append(p)
            starts = [[sum(column) / len(group) for column in zip(*group)] if group else start for group, start in zip(members, starts)]
        # Ids in the order of the centres' features (the first feature first): a replay with
        # another seed tends to give the same ids to the same groups.
        self.centres = sorted(list(start) for start in starts)
        self.counts = [0] * len(self.centres)
        self._buffer = None
        return True

    def to_state(self) -> dict[str, Any]:
        """Feature names, scaler moments, centres, their counts and the warm-up buffer, as JSON-ready data."""
        scaler = self.scaler
        return {
            "n_clusters": self.n_clusters,
            "names": list(self.names),
            "scaler": {"counts": dict(scaler.counts), "means": dict(scaler.means), "vars": dict(scaler.vars)},
            "centres": [list(centre) for centre in self.centres],
            "counts": list(self.counts),
            "buffer": None if self._buffer is None else [list(x) for x in self._buffer],
            "learned": self.learned,
        }

    def load_state(self, state: dict[str, Any]) -> bool:
        """Continue from :meth:`to_state`'s output; False (and nothing loaded) if it had another ``n_clusters``.

        The step, margin, warm-up and seed stay this object's settings. With another bound
        the ids would not mean the same groups: the clusters start a new warm-up instead.
        """
        if state["n_clusters"] != self.n_clusters:
            return False
        self.names = tuple(state["names"])
        self.scaler = preprocessing.StandardScaler()
        self.scaler.counts = Counter(state["scaler"]["counts"])
        self.scaler.means = defaultdict(float, state["scaler"]["means"])
        self.scaler.vars = defaultdict(float, state["scaler"]["vars"])
        self.centres = [[float(v) for v in centre] for centre in state["centres"]]
        self.counts = [int(n) for n in state["counts"]]
        buffer = state["buffer"]
        self._buffer = None if buffer is None else [[float(v) for v in x] for x in buffer]
        self.learned = int(state["learned"])
        return True

    def centre(self, cluster_id: int) -> dict[str, float]:
        """A cluster's centre in standardised units (0 is the mean user, 1 one standard deviation); {} in warm-up."""
        if cluster_id >= len(self.centres):
            return {}
        return {name: float(value) for name, value in self.scaler.transform_one(dict(zip(self.names, self.centres[cluster_id]))).items()}


def _logged_values(raw: dict[str, float]) -> dict[str, float]:
    """Counts and amounts are heavy-tailed: the clusters see them on a log scale."""
    return {name: math.log1p(max(value, 0.0)) for name, value in raw.items()}
