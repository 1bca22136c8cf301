"""Per-user feature state: RFM, decayed activity, sessions, cart and affinities.

One :class:`UserState` per user is updated by every event of that user
(:meth:`UserState.update`) and turned into a model's feature vector by
:meth:`UserState.to_x`. All time comes from the events (epoch milliseconds).

Every decayed quantity is referenced to the user's latest event time
``ref_ts`` (see :mod:`scorer.features.decay`), so moving forward is one multiply per
counter and a late event adds its own decayed weight: counts do not depend on
arrival order.

>>> from scorer.events import ClickEvent
>>> s = UserState()
>>> for minute in range(3):
...     _ = s.update(ClickEvent("e%d" % minute, "u1", 60_000 * minute + 1_700_000_000_000,
...                             "product_view", item_id="i1", category="c1", price=10.0))
>>> _ = s.update(ClickEvent("e3", "u1", 1_700_000_180_000, "add_to_cart",
...                         item_id="i1", category="c1", price=10.0))
>>> x = s.to_x(ClickEvent("e3", "u1", 1_700_000_180_000, "add_to_cart",
...                       item_id="i1", category="c1", price=10.0))
>>> x["session_events"], x["session_views"], x["session_carts"], x["cart_value"], x["cart_items"]
(4.0, 3.0, 1.0, 10.0, 1.0)
>>> x["item_views_by_user"], x["item_in_cart"], x["category_affinity"], x["frequency_orders"]
(3.0, 1.0, 1.0, 0.0)
>>> UserState.from_bytes(s.to_bytes()).to_bytes() == s.to_bytes()
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from scorer.events import SESSION_GAP_S, ClickEvent, PurchaseEvent, starts_new_session
from scorer.features.decay import HALF_LIVES, decay_factor

#: ``recency_s`` of a user who never purchased. Negative so that it can never
#: be mistaken for a real (non-negative) recency; ``has_purchased`` says the same
#: thing as a 0/1 feature that linear models can use directly.
NO_PURCHASE_RECENCY_S = -1.0

_COUNTED = ("views", "carts", "purchases")
_COUNTER_NAMES = tuple(f"{kind}_hl{suffix}" for kind in _COUNTED for suffix in HALF_LIVES)
_COUNTER_INDEX = {name: i for i, name in enumerate(_COUNTER_NAMES)}
_HALF_LIFE_OF_COUNTER = tuple(HALF_LIVES[name.rsplit("_hl", 1)[1]] for name in _COUNTER_NAMES)
_COUNTED_BY_TYPE = {"product_view": "views", "add_to_cart": "carts"}


FEATURE_NAMES: tuple[str, ...] = (
    "recency_s",
    "has_purchased",
    "frequency_orders",
    "monetary_total",
    "aov",
    *_COUNTER_NAMES,
    "session_events",
    "session_duration_s",
    "session_views",
    "session_carts",
    "sessions_total",
    "cart_value",
    "cart_items",
    "item_views_by_user",
    "item_in_cart",
    "category_affinity",
    "brand_affinity",
    "price_vs_user_avg",
    # No time of day or day of week: as cyclic features they cost the default model ROC-AUC
    # and log loss on both Taobao (10 days) and REES46 (3 hours), measured by
    # benchmarks/propensity_ablation.py (README, "Quality, measured").
    "secs_since_last_event",
    "cart_to_view_rate",
    "purchase_to_session_rate",
    "purchase_to_view_rate",
    "item_views_in_session",
    "secs_since_item_viewed",
    "category_views_in_session",
    "category_views_by_user",
    "item_purchased_by_user",
)
"""Names of the features :meth:`UserState.to_x` returns, in a stable order."""

#: ``secs_since_item_viewed`` of an item the user has not viewed before (as ``recency_s``).
NEVER_VIEWED_S = -1.0

# An item line: [views, decayed weight, latest view ts, the view ts before it,
# views in the session numbered next, that session's number, units bought].
_ITEM_LINE = [0, 0.0, 0, 0, 0, 0, 0]


@dataclass(frozen=True, slots=True)
class StateBounds:
    """Bounds that keep one user's state small, whatever the user does.

    The item, category and brand maps keep the ``top_*`` entries by decayed
    weight (half-life ``affinity_half_life_s``); a user idle for ``ttl_s`` of
    event time is expired; events more than ``lateness_s`` behind the user's
    latest update counts but not the session.
    """

    top_items: int = 20
    top_categories: int = 8
    top_brands: int = 8
    affinity_half_life_s: float = 86_400.0
    session_gap_s: float = SESSION_GAP_S
    lateness_s: float = 3_600.0
    ttl_s: float = 90 * 86_400.0
    recent_event_ids: int = 16


DEFAULT_BOUNDS = StateBounds()


def _evict_lightest(weights: dict[str, float], keep: int) -> None:
    while len(weights) > keep:
        del weights[min(weights, key=weights.__getitem__)]


class UserState:
    """Everything the scorer remembers about one user."""

    __slots__ = (
        "ref_ts",
        "counters",
        "views_total",
        "carts_total",
        "orders",
        "monetary",
        "last_purchase_ts",
        "session_id",
        "session_start",
        "session_last",
        "session_events",
        "session_views",
        "session_carts",
        "sessions_total",
        "cart",
        "items",
        "category_weight",
        "brand_weight",
        "category_total",
        "brand_total",
        "price_sum",
        "price_n",
        "gap_s",
        "recent_ids",
        "context",
        "session_categories",
    )

    def __init__(self) -> None:
        self.ref_ts = 0
        self.counters = [0.0] * len(_COUNTER_NAMES)
        self.views_total = 0
        self.carts_total = 0
        self.orders = 0
        self.monetary = 0.0
        self.last_purchase_ts = 0
        self.session_id: str | None = None
        self.session_start = 0
        self.session_last = 0
        self.session_events = 0
        self.session_views = 0
        self.session_carts = 0
        self.sessions_total = 0
        self.cart: dict[str, list[float]] = {}  # item -> [quantity, unit price]
        self.items: dict[str, list[float]] = {}  # item -> [views, decayed weight]
        self.category_weight: dict[str, float] = {}
        self.brand_weight: dict[str, float] = {}
        self.category_total = 0.0
        self.brand_total = 0.0
        self.price_sum = 0.0
        self.price_n = 0
        self.gap_s = 0.0
        self.recent_ids: list[int] = []
        # item, category, brand and price of the latest click: what current_x() describes.
        self.context: list = [None, None, None, None]
        # Product views per category in the current session (at most ``top_categories``).
        self.session_categories: dict[str, int] = {}

    # -- time -----------------------------------------------------------------

    def is_expired(self, ts: int, bounds: StateBounds = DEFAULT_BOUNDS) -> bool:
        """True when the user has been idle for longer than the TTL at event time ``ts``."""
        return self.ref_ts > 0 and ts - self.ref_ts > bounds.ttl_s * 1000

    def _advance(self, ts: int, bounds: StateBounds) -> None:
        """Move the reference time forward to ``ts``, decaying everything."""
        elapsed = ts - self.ref_ts
        self.gap_s = elapsed / 1000.0 if self.ref_ts else 0.0
        if self.ref_ts:
            counters = self.counters
            for i, half_life in enumerate(_HALF_LIFE_OF_COUNTER):
                counters[i] *= decay_factor(elapsed, half_life)
            factor = decay_factor(elapsed, bounds.affinity_half_life_s)
            for line in self.items.values():
                line[1] *= factor
            for weights in (self.category_weight, self.brand_weight):
                for key in weights:
                    weights[key] *= factor
            self.category_total *= factor
            self.brand_total *= factor
        self.ref_ts = ts

    def _weight(self, ts: int, half_life_s: float) -> float:
        """Weight of an event at ``ts`` as seen from the reference time."""
        return decay_factor(self.ref_ts - ts, half_life_s) if ts < self.ref_ts else 1.0

    def _count(self, kind: str, ts: int) -> None:
        for suffix, half_life in HALF_LIVES.items():
            self.counters[_COUNTER_INDEX[f"{kind}_hl{suffix}"]] += self._weight(ts, half_life)

    def _is_duplicate(self, event_id: str, bounds: StateBounds) -> bool:
        # A 48-bit BLAKE2b digest: stable across processes (str hashes are salted per process),
        # at most 15 digits in the stored JSON, and collisions among a user's last ids are
        # negligible (about 16**2 / 2**49); CRC32 confused real ids ("plumless", "buckeroo").
        digest = int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=6).digest(), "big")
        if digest in self.recent_ids:
            return True
        self.recent_ids.append(digest)
        if len(self.recent_ids) > bounds.recent_event_ids:
            del self.recent_ids[0]
        return False

    def _touch_session(self, ts: int, session_id: str | None, bounds: StateBounds) -> bool:
        """Update session bookkeeping; False when the event is too late to count."""
        if ts < self.session_last - bounds.lateness_s * 1000:
            return False
        last = self.session_last if self.sessions_total else None
        if starts_new_session(self.session_id, last, session_id, ts, int(bounds.session_gap_s * 1000)):
            self.sessions_total += 1
            self.session_id = session_id
            self.session_start = self.session_last = ts
            self.session_events = self.session_views = self.session_carts = 0
            self.session_categories = {}
        else:
            self.session_start = min(self.session_start, ts)
            self.session_last = max(self.session_last, ts)
        self.session_events += 1
        return True

    def _affinity(self, ts: int, category: str | None, brand: str | None, bounds: StateBounds) -> None:
        weight = self._weight(ts, bounds.affinity_half_life_s)
        if category:
            self.category_weight[category] = self.category_weight.get(category, 0.0) + weight
            self.category_total += weight
            _evict_lightest(self.category_weight, bounds.top_categories)
        if brand:
            self.brand_weight[brand] = self.brand_weight.get(brand, 0.0) + weight
            self.brand_total += weight
            _evict_lightest(self.brand_weight, bounds.top_brands)

    # -- updates --------------------------------------------------------------

    def update(self, event: ClickEvent | PurchaseEvent, bounds: StateBounds = DEFAULT_BOUNDS) -> bool:
        """Fold one event into the state; False (and no change) for a repeated ``event_id``."""
        if self._is_duplicate(event.event_id, bounds):
            return False
        if event.ts > self.ref_ts:
            self._advance(event.ts, bounds)
        else:
            self.gap_s = 0.0
        if isinstance(event, PurchaseEvent):
            self._update_purchase(event, bounds)
        else:
            self._update_click(event, bounds)
        return True

    def _update_click(self, event: ClickEvent, bounds: StateBounds) -> None:
        if event.ts >= self.ref_ts:
            self.context = [event.item_id, event.category, event.brand, event.price]
        kind = _COUNTED_BY_TYPE.get(event.type)
        if kind is not None:
            self._count(kind, event.ts)
        in_session = self._touch_session(event.ts, event.session_id, bounds)
        item = event.item_id
        if event.type == "product_view":
            self.views_total += 1
            if in_session:
                self.session_views += 1
                if event.category:
                    seen = self.session_categories
                    seen[event.category] = seen.get(event.category, 0) + 1
                    if len(seen) > bounds.top_categories:
                        del seen[min(seen, key=seen.__getitem__)]
            if item is not None:
                line = self._item_line(item)
                line[0] += 1
                line[1] += self._weight(event.ts, bounds.affinity_half_life_s)
                if event.ts >= line[2]:
                    line[3], line[2] = line[2], event.ts
                elif event.ts > line[3]:
                    line[3] = event.ts
                if in_session:
                    if line[5] != self.sessions_total:
                        line[4], line[5] = 0, self.sessions_total
                    line[4] += 1
                if len(self.items) > bounds.top_items:
                    del self.items[min(self.items, key=lambda key: self.items[key][1])]
            if event.price is not None:
                self.price_sum += event.price
                self.price_n += 1
        elif event.type == "add_to_cart":
            self.carts_total += 1
            if in_session:
                self.session_carts += 1
            if item is not None:
                line = self.cart.setdefault(item, [0.0, 0.0])
                line[0] += 1.0
                if event.price is not None:
                    line[1] = event.price
        elif event.type == "remove_from_cart" and item is not None and item in self.cart:
            line = self.cart[item]
            line[0] -= 1.0
            if line[0] <= 0:
                del self.cart[item]
        self._affinity(event.ts, event.category, event.brand, bounds)

    def _item_line(self, item: str) -> list:
        line = self.items.get(item)
        if line is None:
            line = self.items[item] = list(_ITEM_LINE)
        elif len(line) < len(_ITEM_LINE):  # stored before the line had its time and session fields
            line += _ITEM_LINE[len(line) :]
        return line

    def _update_purchase(self, event: PurchaseEvent, bounds: StateBounds) -> None:
        self._count("purchases", event.ts)
        self._touch_session(event.ts, None, bounds)
        self.orders += 1
        self.monetary += event.revenue
        self.last_purchase_ts = max(self.last_purchase_ts, event.ts)
        for line in event.items:
            in_cart = self.cart.get(line.item_id)
            if in_cart is not None:
                in_cart[0] -= line.quantity
                if in_cart[0] <= 0:
                    del self.cart[line.item_id]
            viewed = self.items.get(line.item_id)
            if viewed is not None:
                self._item_line(line.item_id)[6] += line.quantity
            self._affinity(event.ts, line.category, line.brand, bounds)

    # -- features -------------------------------------------------------------

    def to_x(self, event: ClickEvent | PurchaseEvent) -> dict[str, float]:
        """The feature vector for ``event``, which must already be folded in."""
        if isinstance(event, PurchaseEvent):
            return self._x(event.ts, None, None, None, None)
        return self._x(event.ts, event.item_id, event.category, event.brand, event.price)

    def current_x(self) -> dict[str, float]:
        """The feature vector as of the user's latest event, in the context of their latest click."""
        return self._x(self.ref_ts, *self.context)

    def _x(
        self, ts: int, item: str | None, category: str | None, brand: str | None, price: float | None
    ) -> dict[str, float]:
        avg_price = self.price_sum / self.price_n if self.price_n else 0.0
        cart_line = self.cart.get(item) if item is not None else None
        item_line = self.items.get(item) if item is not None else None
        if item_line is not None and len(item_line) < len(_ITEM_LINE):
            item_line = item_line + _ITEM_LINE[len(item_line) :]
        if item_line is None or not item_line[2]:
            since_viewed = NEVER_VIEWED_S
        else:
            # The click itself may be the latest view of the item: then the one before it counts.
            previous = item_line[3] if item_line[2] == ts else item_line[2]
            since_viewed = (ts - previous) / 1000.0 if previous else NEVER_VIEWED_S
        x = {
            "recency_s": (ts - self.last_purchase_ts) / 1000.0 if self.orders else NO_PURCHASE_RECENCY_S,
            "has_purchased": 1.0 if self.orders else 0.0,
            "frequency_orders": float(self.orders),
            "monetary_total": self.monetary,
            "aov": self.monetary / self.orders if self.orders else 0.0,
        }
        x.update(zip(_COUNTER_NAMES, self.counters))
        x.update(
            session_events=float(self.session_events),
            session_duration_s=(self.session_last - self.session_start) / 1000.0,
            session_views=float(self.session_views),
            session_carts=float(self.session_carts),
            sessions_total=float(self.sessions_total),
            cart_value=sum(quantity * unit for quantity, unit in self.cart.values()),
            cart_items=sum(quantity for quantity, _ in self.cart.values()),
            item_views_by_user=float(self.items[item][0]) if item in self.items else 0.0,
            item_in_cart=1.0 if cart_line is not None else 0.0,
            category_affinity=(
                self.category_weight.get(category, 0.0) / self.category_total
                if category and self.category_total
                else 0.0
            ),
            brand_affinity=(
                self.brand_weight.get(brand, 0.0) / self.brand_total if brand and self.brand_total else 0.0
            ),
            price_vs_user_avg=price / avg_price if price is not None and avg_price > 1e-9 else 1.0,  # a denormal average would give inf
            secs_since_last_event=self.gap_s,
            cart_to_view_rate=self.carts_total / self.views_total if self.views_total else 0.0,
            purchase_to_session_rate=self.orders / self.sessions_total if self.sessions_total else 0.0,
            purchase_to_view_rate=self.orders / self.views_total if self.views_total else 0.0,
            item_views_in_session=(
                float(item_line[4]) if item_line is not None and item_line[5] == self.sessions_total else 0.0
            ),
            secs_since_item_viewed=since_viewed,
            category_views_in_session=float(self.session_categories.get(category, 0)) if category else 0.0,
            category_views_by_user=self.category_weight.get(category, 0.0) if category else 0.0,
            item_purchased_by_user=float(item_line[6]) if item_line is not None else 0.0,
        )
        return x

    # -- serialization --------------------------------------------------------

    def to_fields(self) -> list:
        """The state as a plain list, in slot order: the body of the serialized form."""
        return [getattr(self, name) for name in self.__slots__]

    @classmethod
    def from_fields(cls, fields: list) -> UserState:
        # Fields added since a record was stored keep their defaults.
        state = cls() if len(fields) < len(cls.__slots__) else cls.__new__(cls)
        for name, value in zip(cls.__slots__, fields):
            setattr(state, name, value)
        return state

    def to_bytes(self) -> bytes:
        """Compact JSON array form, for the changelog-backed table."""
        return orjson.dumps(self.to_fields())

    @classmethod
    def from_bytes(cls, raw: bytes) -> UserState:
        return cls.from_fields(orjson.loads(raw))
