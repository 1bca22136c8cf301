"""Recency-weighted item popularity, overall and per category, for cold users and as a fallback.

Counts are exponentially decayed in event time (:mod:`scorer.recommend.forward_decay`),
so "popular" means popular lately. The ``top_n`` most popular items overall and
per category are tracked as events arrive: stored forward-decayed counts never
fall, so an item can only enter a top list when its own count grows, and one
comparison with the list's minimum keeps the list exact (until an item changes
category or is forgotten; the gap then fills as counts grow).

Memory: at most ``max_items`` counted items (beyond it the least popular are
forgotten) and ``max_categories`` categories. Measured with tracemalloc (id
strings excluded): 61 bytes per item without categories (YooChoose), 100 to
125 with them (the synthetic catalogue, REES46).

>>> pop = Popularity(half_life_s=86_400, top_n=2)
>>> for ts, item, category in [(0, "a", "shoes"), (1, "b", "hats"), (2, "a", "shoes"), (3, "c", "hats")]:
...     pop.learn(item, ts, category)
>>> [item for item, _ in pop.top()]  # "c" beats "b": one view each, but later
['a', 'c']
>>> [item for item, _ in pop.top("hats")]
['c', 'b']
"""

from __future__ import annotations

from scorer.recommend.eviction import decayed_away, least_used
from scorer.recommend.forward_decay import ForwardDecay



class TopItems:
    """The ``size`` items with the largest non-decreasing weights, kept exact as weights grow."""

    __slots__ = ("size", "weights", "floor")

    def __init__(self, size: int) -> None:
        self.size = size
        self.weights: dict[str, float] = {}
        self.floor = 0.0  # smallest weight held once full: what a newcomer must beat

    def offer(self, item: str, weight: float) -> None:
        """Record that ``item``'s weight grew to ``weight``."""
        weights = self.weights
        old = weights.get(item)
        if old is not None:
            weights[item] = weight
            # Weights only grow, so the floor moves only when the floor item itself grew.
            if old <= self.floor and len(weights) >= self.size:
                self.floor = min(weights.values())
            return
        if len(weights) >= self.size:
            if weight <= self.floor:
                return
            del weights[min(weights, key=weights.__getitem__)]
        weights[item] = weight
        if len(weights) >= self.size:
            self.floor = min(weights.values())

    def rescale(self, factor: float) -> None:
        for item in self.weights:
            self.weights[item] *= factor
        self.floor *= factor

    def discard(self, item: str) -> None:
        if self.weights.pop(item, None) is not None:
            self.floor = 0.0

    def ranked(self) -> list[tuple[str, float]]:
        return sorted(self.weights.items(), key=lambda kv: (-kv[1], kv[0]))


class Popularity:
    """Decayed view counts per item, with the top items overall and per category."""

    __slots__ = ("decay", "top_n", "max_items", "max_categories", "counts", "category_of", "overall", "by_category")

    def __init__(
        self, half_life_s: float = 86_400.0, top_n: int = 100, max_items: int = 500_000, max_categories: int = 10_000
    ) -> None:
        self.decay = ForwardDecay(half_life_s)
        self.top_n = top_n
        self.max_items = max_items
        self.max_categories = max_categories
        self.counts: dict[str, float] = {}
        self.category_of: dict[str, str] = {}
        self.overall = TopItems(top_n)
        self.by_category: dict[str, TopItems] = {}

    def __len__(self) -> int:
        return len(self.counts)

    def learn(self, item: str, ts: int, category: str | None = None, weight: float = 1.0) -> None:
        """Count one interaction with ``item`` at event time ``ts``."""
        factor = self.decay.advance(ts)
        if factor is not None:
            self._rescale(factor)
        count = self.counts.get(item, 0.0) + weight * self.decay.weight(ts)
        self.counts[item] = count
        if category is None:
            category = self.category_of.get(item)
        elif self.category_of.get(item) != category or category not in self.by_category:
            self._move(item, category)
        self.overall.offer(item, count)
        tracked = self.by_category.get(category) if category is not None else None
        if tracked is not None:
            tracked.offer(item, count)
        if len(self.counts) > self.max_items * 1.1:
            self._forget_least_popular()

    def top(self, category: str | None = None) -> list[tuple[str, float]]:
        """The most popular items, in ``category`` when given and known, with decayed counts."""
        tracked = self.overall if category is None else self.by_category.get(category)
        if tracked is None:
            return []
        scale = self.decay.scale()
        return [(item, weight * scale) for item, weight in tracked.ranked()]

    def top_weights(self, category: str | None = None) -> dict[str, float]:
        """The same items as :meth:`top`, unsorted, with stored (undecayed) weights: for blending.

        The dict is the tracker's own, not a copy: read it, do not change it.
        """
        tracked = self.overall if category is None else self.by_category.get(category)
        return tracked.weights if tracked is not None else {}

    def count(self, item: str) -> float:
        """The decayed count of ``item`` at the latest event time."""
        return self.decay.value(self.counts.get(item, 0.0))

    def _move(self, item: str, category: str) -> None:
        old = self.by_category.get(self.category_of.get(item, ""))
        if old is not None:
            old.discard(item)
        self.category_of[item] = category
        if category not in self.by_category:
            self.by_category[category] = TopItems(self.top_n)
            if len(self.by_category) > self.max_categories * 1.1:
                self._forget_coldest_categories(keep=category)

    def _forget_coldest_categories(self, keep: str) -> None:
        # In one sweep down to the bound, so the cost is amortised over many new categories.
        def heat(category: str) -> float:
            return max(self.by_category[category].weights.values(), default=0.0)

        colder = sorted((c for c in self.by_category if c != keep), key=heat)
        for category in colder[: len(self.by_category) - self.max_categories]:
            del self.by_category[category]

    def _rescale(self, factor: float) -> None:
        for item in self.counts:
            self.counts[item] *= factor
        self.overall.rescale(factor)
        for tracked in self.by_category.values():
            tracked.rescale(factor)
        # Whatever has decayed to nothing is dropped here, where it is cheap to find.
        self._forget(decayed_away(self.counts))

    def _forget_least_popular(self) -> None:
        self._forget(least_used(self.counts, self.max_items))

    def _forget(self, items: list[str]) -> None:
        for item in items:
            del self.counts[item]
            tracked = self.by_category.get(self.category_of.pop(item, ""))
            if tracked is not None:
                tracked.discard(item)
            self.overall.discard(item)
