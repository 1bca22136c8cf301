"""Online item- and category-level rates over all users: how often what is viewed is carted or bought.

Per-user history says little about a user seen for the first time, but the item they look
at has a history of its own: on Taobao, the items and categories that convert are far from
uniform. :class:`CatalogRates` keeps, per item and per category, exponentially decayed
counts of views, adds to cart and purchases (half-life ``half_life_s``, 3 days by default)
and turns them into smoothed rates: ``(carts + m * global rate) / (views + m)`` with ``m``
pseudo-views (:data:`PRIOR_VIEWS`), so a new item starts at the global rate and moves away
from it as its own evidence grows.

Only events already seen count: a click is scored with the purchases before it, never with
the one it may lead to, so the rates leak no label.

Decay is forward decay (as in ``scorer.recommend.forward_decay``): an event adds
``2**((ts - landmark) / half_life)``, so a rate (a ratio of two such sums) needs no decay at
all, and only the counts and the prior need the one common factor. Memory is bounded: beyond
``max_items`` items (or ``max_categories`` categories) the lightest tenth is forgotten at
once, and whatever decayed below a millionth of a view goes with it.

Where it lives: this is not per-user state, so it is not in the users table. Each worker
holds one, fed by the events of the partitions it owns; users are hashed to partitions, so
with several workers each one's rates are estimated from a random share of the users (the
same rates, noisier). It is not in the model snapshot: after a restart it is rebuilt from the
stream, starting from the prior (every rate at the global one until its items are seen again;
with a 3-day half-life, most of the weight is back within a day of traffic).

>>> rates = CatalogRates()
>>> t = 1_700_000_000_000
>>> for i in range(20):
...     rates.observe(VIEW, "hit", "c1", t + i)
...     rates.observe(VIEW, "miss", "c1", t + i)
>>> for i in range(5):
...     rates.observe(PURCHASE, "hit", "c1", t + 100 + i)
>>> hit, miss = rates.features("hit", "c1", t + 200), rates.features("miss", "c1", t + 200)
>>> hit[2] > rates.features(None, None, t + 200)[2] > miss[2]
True
>>> round(hit[0], 3), len(rates.items)
(20.0, 2)
"""

from __future__ import annotations

__all__ = ["CATALOG_FEATURE_NAMES", "CART", "CatalogRates", "PRIOR_VIEWS", "PURCHASE", "VIEW"]

#: What an event was, as an index into a catalog line ``[views, carts, purchases]``.
VIEW, CART, PURCHASE = 0, 1, 2

#: Pseudo-views of the smoothing prior: an item's own rate outweighs the global one after
#: about this many (decayed) views.
PRIOR_VIEWS = 20.0

#: Half-lives after which the forward-decay landmark moves (far from float overflow).
_REBASE_AFTER = 40.0
#: A line whose decayed views and purchases fall below this is forgotten at eviction.
_FORGET_BELOW = 1e-6

CATALOG_FEATURE_NAMES: tuple[str, ...] = (
    "item_views_global",
    "item_cart_rate",
    "item_purchase_rate",
    "category_views_global",
    "category_cart_rate",
    "category_purchase_rate",
)
"""Names of what :meth:`CatalogRates.features` returns, in order."""


class CatalogRates:
    """Decayed view, cart and purchase counts per item and per category, with bounded memory."""

    __slots__ = ("half_life_ms", "max_items", "max_categories", "landmark", "items", "categories", "total")

    def __init__(self, half_life_s: float = 3 * 86_400.0, max_items: int = 200_000, max_categories: int = 20_000) -> None:
        if half_life_s <= 0:
            raise ValueError("half_life_s must be positive")
        self.half_life_ms = half_life_s * 1000.0
        self.max_items = max_items
        self.max_categories = max_categories
        self.landmark: int | None = None
        self.items: dict[str, list[float]] = {}
        self.categories: dict[str, list[float]] = {}
        self.total = [0.0, 0.0, 0.0]

    def _growth(self, ts: int) -> float:
        """The weight of an event at ``ts``, in the stored (landmark) units."""
        if self.landmark is None:
            self.landmark = ts
        exponent = (ts - self.landmark) / self.half_life_ms
        if exponent > _REBASE_AFTER:
            self._rebase(ts)
            exponent = 0.0
        return 2.0**exponent

    def _rebase(self, ts: int) -> None:
        factor = 2.0 ** (-(ts - self.landmark) / self.half_life_ms)  # type: ignore[operator]
        for table in (self.items, self.categories):
            for line in table.values():
                line[0] *= factor
                line[1] *= factor
                line[2] *= factor
        self.total = [value * factor for value in self.total]
        self.landmark = ts

    def observe(self, kind: int, item: str | None, category: str | None, ts: int, quantity: float = 1.0) -> None:
        """Count one view, add to cart or purchase (``kind``) of ``item`` in ``category`` at ``ts``."""
        weight = self._growth(ts) * quantity
        self.total[kind] += weight
        if item is not None:
            self._add(self.items, item, kind, weight, self.max_items)
        if category is not None:
            self._add(self.categories, category, kind, weight, self.max_categories)

    def _add(self, table: dict[str, list[float]], key: str, kind: int, weight: float, cap: int) -> None:
        line = table.get(key)
        if line is None:
            line = table[key] = [0.0, 0.0, 0.0]
            if len(table) > cap:
                self._evict(table, cap)
        line[kind] += weight

    def _evict(self, table: dict[str, list[float]], cap: int) -> None:
        # Forgetting a tenth at once keeps eviction amortised O(1) per new key.
        keep = cap - cap // 10
        floor = _FORGET_BELOW * self._growth(max(self.landmark or 0, 0))
        ranked = sorted(table, key=lambda key: table[key][0] + table[key][2], reverse=True)
        for key in ranked[keep:]:
            del table[key]
        for key in [key for key, line in table.items() if line[0] + line[2] < floor]:
            del table[key]

    def features(self, item: str | None, category: str | None, ts: int) -> tuple[float, ...]:
        """``CATALOG_FEATURE_NAMES`` for a click on ``item`` in ``category`` at ``ts``."""
        growth = self._growth(ts) if self.landmark is not None else 1.0
        views, carts, purchases = self.total
        cart_prior = carts / views if views > 0 else 0.0
        purchase_prior = purchases / views if views > 0 else 0.0
        prior = PRIOR_VIEWS * growth
        out: list[float] = []
        for table, key in ((self.items, item), (self.categories, category)):
            line = table.get(key) if key is not None else None
            if line is None:
                out += (0.0, cart_prior, purchase_prior)
                continue
            denominator = line[0] + prior
            out += (
                line[0] / growth,
                (line[1] + prior * cart_prior) / denominator,
                (line[2] + prior * purchase_prior) / denominator,
            )
        return tuple(out)
