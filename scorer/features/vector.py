"""The feature vector a model sees: the user's state and the catalog's rates, compressed, finite and clipped.

:class:`FeatureBuilder` is the one place where a click becomes numbers for a model. It
keeps the catalog (:mod:`scorer.features.catalog`), which every event updates, and builds
the vector from the user's state (:mod:`scorer.features.user_state`) and the catalog's
rates for the clicked item and category.

Every value then goes through :func:`bounded`: heavy tails (counts, money, seconds) are
compressed by a signed ``log1p`` (a fixed transform, done once here rather than inside
every model), NaN becomes 0, and the result is clipped to
``[-CLIP, CLIP]``. The decoder already refuses prices beyond a billion, but sums of many
prices or a long-lived user's counts could still grow large, and a model that meets an
infinite or huge value learns NaN weights and then scores NaN forever.

>>> bounded([0.0, 9.0, -1.0, float("nan"), float("inf"), 1e300])
[0.0, 2.302585092994046, -0.6931471805599453, 0.0, 50.0, 50.0]
>>> from scorer.events import ClickEvent
>>> from scorer.features.user_state import UserState
>>> builder, state = FeatureBuilder(), UserState()
>>> click = ClickEvent("e1", "u1", 1_700_000_000_000, "product_view", item_id="i1", category="c1", price=1e9)
>>> _ = state.update(click); builder.observe(click)
>>> values = builder.vector(state, click)
>>> len(values) == len(FEATURE_NAMES), all(-CLIP <= v <= CLIP for v in values)
(True, True)
"""

from __future__ import annotations

import math

from scorer.events import ClickEvent, PurchaseEvent
from scorer.features.catalog import CART, CATALOG_FEATURE_NAMES, PURCHASE, VIEW, CatalogRates
from scorer.features.user_state import FEATURE_NAMES as USER_FEATURE_NAMES
from scorer.features.user_state import UserState

__all__ = ["CLIP", "FEATURE_NAMES", "FeatureBuilder", "VECTOR_VERSION", "bounded"]

#: Version of the transform below: a change to it (or to the features) makes earlier model
#: snapshots unusable, and :mod:`scorer.scoring.snapshot` refuses them.
VECTOR_VERSION = 2  # 2: no time of day or day of week

#: Largest magnitude of a value handed to a model, after the log compression:
#: ``log1p(5e21)`` is 50, far beyond any count or sum of real money.
CLIP = 50.0

FEATURE_NAMES: tuple[str, ...] = USER_FEATURE_NAMES + CATALOG_FEATURE_NAMES
"""Every feature a model sees, in the order of :meth:`FeatureBuilder.vector`."""

_KIND_OF_CLICK = {"product_view": VIEW, "add_to_cart": CART}
_log1p = math.log1p


def bounded(values: list[float]) -> list[float]:
    """Signed ``log1p`` of each value, non-finite values as 0, clipped to ``[-CLIP, CLIP]``."""
    out = []
    for value in values:
        if value >= 0.0:
            value = _log1p(value) if value < math.inf else CLIP
            out.append(value if value < CLIP else CLIP)
        elif value < 0.0:
            value = -_log1p(-value) if value > -math.inf else -CLIP
            out.append(value if value > -CLIP else -CLIP)
        else:  # NaN compares false both ways
            out.append(0.0)
    return out


class FeatureBuilder:
    """The catalog's rates plus each user's state, as one bounded vector per click."""

    __slots__ = ("catalog",)

    def __init__(self, catalog: CatalogRates | None = None) -> None:
        self.catalog = catalog if catalog is not None else CatalogRates()

    def observe(self, event: ClickEvent | PurchaseEvent) -> None:
        """Count a fresh event in the catalog (views, adds to cart, purchased lines)."""
        if isinstance(event, PurchaseEvent):
            for line in event.items:
                self.catalog.observe(PURCHASE, line.item_id, line.category, event.ts, max(line.quantity, 1))
            return
        kind = _KIND_OF_CLICK.get(event.type)
        if kind is not None:
            self.catalog.observe(kind, event.item_id, event.category, event.ts)

    def vector(self, state: UserState, event: ClickEvent) -> list[float]:
        """The bounded values of :data:`FEATURE_NAMES` for ``event``, already folded into ``state``."""
        values = list(state.to_x(event).values())
        values += self.catalog.features(event.item_id, event.category, event.ts)
        return bounded(values)
