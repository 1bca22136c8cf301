"""Item-to-item co-occurrence within sessions: a streaming item-kNN in the spirit of SAR.

When a session views item ``j`` after items ``i1, i2, ...`` (nearest first),
each pair ``(i, j)`` at distance ``d`` gains ``w / d`` in the forward
direction ``i -> j`` and ``backward_weight * w / d`` in the other, where ``w``
is the event's forward-decay weight (:mod:`scorer.recommend.forward_decay`):
pairs seen lately count more, and near neighbours in the session count more
than far ones, like sequential rules. Only the ``window`` nearest distinct
previous items pair with ``j``.

Scores for a session context ``[(i, r_i)]`` are

    score(j) = sum_i  r_i * c(i, j) / count(i) / max(count(j), 1) ** alpha

that is the rate at which ``i`` is followed by ``j``, damped for items that are
popular anyway (``alpha = 0`` is the plain conditional rate, ``alpha = 0.5``
the asymmetric cosine of item-kNN).

Memory is bounded: each item keeps its strongest ``max_neighbours`` neighbours
by decayed weight, so stale pairs go first (a row is cut back to that once it
is half as long again, so a row never holds more than 1.5 times the bound),
weights that decay to nothing are dropped when the landmark moves, and
at most ``max_items`` items are tracked (beyond that the least seen are
forgotten). Measured with tracemalloc (item id strings excluded, they are
shared): a neighbour entry costs 57 to 83 bytes, so an item about 1.4 kB on the
YooChoose sample (rows of 25 on average with the default bound of 50), 0.7 to 0.9 kB
on the 100k-item synthetic catalogue of ``benchmarks/reco_latency.py`` (rows
of 12 to 15; 690 bytes measured again with the cached ``count ** alpha`` of
each item, one more float per item, that :meth:`CoOccurrence.scores` uses), and at
most about 6 kB (a full row of 75).

>>> co = CoOccurrence(half_life_s=86_400, max_neighbours=10)
>>> for session in (["a", "b", "c"], ["a", "b"], ["d", "a", "b"]):
...     for position, item in enumerate(session):
...         co.learn(session[:position], item, ts=0)
>>> top = co.scores([("a", 1.0)], alpha=0.0)
>>> max(top, key=top.get)
'b'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter

from scorer.recommend.eviction import decayed_away, least_used, rescale_rows
from scorer.recommend.forward_decay import ForwardDecay



class CoOccurrence:
    """Decayed, distance-weighted, pruned item-to-item co-occurrence counts."""

    __slots__ = (
        "decay",
        "max_neighbours",
        "window",
        "backward_weight",
        "max_items",
        "neighbours",
        "counts",
        "damping_alpha",
        "damping",
    )

    def __init__(
        self,
        half_life_s: float = 7 * 86_400.0,
        max_neighbours: int = 50,
        window: int = 5,
        backward_weight: float = 0.5,
        max_items: int = 500_000,
    ) -> None:
        self.decay = ForwardDecay(half_life_s)
        self.max_neighbours = max_neighbours
        self.window = window
        self.backward_weight = backward_weight
        self.max_items = max_items
        self.neighbours: dict[str, dict[str, float]] = {}
        self.counts: dict[str, float] = {}
        # count ** alpha per item for the alpha of the latest scores() call, kept up to date as counts
        # change, so that scoring a neighbour costs a multiply instead of a power.
        self.damping_alpha: float | None = None
        self.damping: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self.counts)

    def learn(self, history: Sequence[str], item: str, ts: int) -> None:
        """Count ``item`` seen at ``ts`` after ``history`` (the session's earlier items, oldest first)."""
        factor = self.decay.advance(ts)
        if factor is not None:
            self._rescale(factor)
        weight = self.decay.weight(ts)
        count = self.counts[item] = self.counts.get(item, 0.0) + weight
        if self.damping_alpha is not None:
            self.damping[item] = count**self.damping_alpha
        seen = {item}
        distance = 0
        for previous in reversed(history):
            distance += 1
            if previous in seen or previous not in self.counts:
                continue
            seen.add(previous)
            pair = weight / distance
            self._add(previous, item, pair)
            if self.backward_weight:
                self._add(item, previous, pair * self.backward_weight)
            if len(seen) > self.window:
                break
        if len(self.counts) > self.max_items * 1.1:
            self._forget_least_seen()

    def scores(self, context: Iterable[tuple[str, float]], alpha: float = 0.25) -> dict[str, float]:
        """Scores of the neighbours of ``context`` items, each weighted by its context weight."""
        if alpha != self.damping_alpha:
            self.damping_alpha = alpha
            self.damping = {item: count**alpha for item, count in self.counts.items()}
        scores: dict[str, float] = {}
        counts, neighbours = self.counts, self.neighbours
        # The damping depends on the neighbour only, so it is applied once per candidate after the
        # context's rows are summed, rather than once per row entry.
        for item, weight in context:
            row = neighbours.get(item)
            if not row:
                continue
            base = weight / counts[item]  # a row exists only for a counted item
            if not scores:
                scores = {neighbour: base * pair for neighbour, pair in row.items()}
                continue
            get = scores.get
            for neighbour, pair in row.items():
                scores[neighbour] = get(neighbour, 0.0) + base * pair
        if not scores:
            return scores
        # (count * scale) ** alpha == count ** alpha * scale ** alpha: one power per call, not per neighbour.
        scale_alpha = self.decay.scale() ** alpha
        damping = self.damping
        damped: dict[str, float] = {}
        for neighbour, score in scores.items():
            damp = damping.get(neighbour)
            if damp is None:
                continue  # forgotten
            damp *= scale_alpha
            damped[neighbour] = score / damp if damp > 1.0 else score
        return damped

    def row_sizes(self) -> list[int]:
        """Number of neighbours held for each item (for bounds checks and memory figures)."""
        return [len(row) for row in self.neighbours.values()]

    def _add(self, source: str, target: str, pair: float) -> None:
        row = self.neighbours.get(source)
        if row is None:
            row = self.neighbours[source] = {}
        row[target] = row.get(target, 0.0) + pair
        if len(row) > self.max_neighbours + self.max_neighbours // 2:
            # Cutting back only once the row is half as long again keeps the cost amortised O(log M) per pair.
            kept = sorted(row.items(), key=itemgetter(1), reverse=True)[: self.max_neighbours]
            self.neighbours[source] = dict(kept)

    def _rescale(self, factor: float) -> None:
        for item in self.counts:
            self.counts[item] *= factor
        if self.damping_alpha is not None:
            damping_factor = factor**self.damping_alpha
            for item in self.damping:
                self.damping[item] *= damping_factor
        rescale_rows(self.neighbours, factor)
        self._forget(decayed_away(self.counts))

    def _forget_least_seen(self) -> None:
        self._forget(least_used(self.counts, self.max_items))

    def _forget(self, items: list[str]) -> None:
        for item in items:
            del self.counts[item]
            self.damping.pop(item, None)
            self.neighbours.pop(item, None)
