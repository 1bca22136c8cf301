"""Synthetic marketing traffic with a known ground truth, deterministic for a seed.

Users belong to latent types that browse, add to cart and buy at different
rates; the catalogue has categories, brands, prices and long-tail popularity.
Events come out in event-time order as ``(kind, event)`` pairs where ``kind``
is ``"click"`` or ``"purchase"`` and ``event`` is a dict in the v1 contract.

>>> gen = TrafficGenerator(users=50, items=40, seed=1)
>>> first = [e for _, e in gen.take(200)]
>>> [e for _, e in TrafficGenerator(users=50, items=40, seed=1).take(200)] == first
True
>>> all(a["ts"] <= b["ts"] for a, b in zip(first, first[1:]))
True
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UserType:
    """How a kind of user behaves within a session."""

    name: str
    share: float
    views_per_session: float
    cart_rate: float  # chance that a product view leads to an add-to-cart
    buy_rate: float  # chance that a session with a cart ends in a purchase
    sessions_per_day: float
    price_tolerance: float  # multiplies the typical price the user looks at


USER_TYPES: tuple[UserType, ...] = (
    UserType("window_shopper", 0.45, 6.0, 0.04, 0.05, 1.5, 1.0),
    UserType("bargain_hunter", 0.25, 9.0, 0.10, 0.35, 1.0, 0.5),
    UserType("loyal_buyer", 0.10, 4.0, 0.35, 0.70, 0.8, 1.4),
    UserType("one_time_visitor", 0.20, 2.5, 0.08, 0.20, 0.1, 1.0),
)

CATEGORIES = ("electronics", "apparel", "home", "beauty", "sports", "books", "toys", "grocery")
BRANDS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "soylent")
CHANNELS = ("organic", "paid_search", "email", "social", "direct")
DEVICES = ("mobile", "desktop", "tablet")
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class TrafficGenerator:
    """An endless, seeded stream of clicks and purchases from simulated users."""

    def __init__(self, users: int = 1_000, items: int = 500, seed: int = 42, start_ms: int = START_MS) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.items = [
            {
                "item_id": f"item-{i}",
                "category": rng.choice(CATEGORIES),
                "brand": rng.choice(BRANDS),
                "price": round(rng.lognormvariate(3.3, 0.8), 2),
            }
            for i in range(items)
        ]
        # Zipf-like popularity: a few items get most views.
        self.item_weights = list(itertools.accumulate(1.0 / (rank + 1) ** 0.9 for rank in range(items)))
        weights = [t.share for t in USER_TYPES]
        self.users = [
            (f"user-{u}", rng.choices(USER_TYPES, weights)[0], rng.choice(DEVICES), rng.choice(CHANNELS))
            for u in range(users)
        ]
        self._sessions = 0
        self._events = 0
        # (ts, session number, (ts, kind, event), rest of the session): the
        # number breaks ties so that equal times keep a deterministic order.
        self._queue: list[tuple[int, int, tuple[int, str, dict], Iterator[tuple[int, str, dict]]]] = []
        for index in range(users):
            self._schedule_session(index, start_ms + int(rng.expovariate(1.0) * 3_600_000))

    def _schedule_session(self, user_index: int, start_ms: int) -> None:
        self._sessions += 1
        steps = self._session(user_index, start_ms, self._sessions)
        first = next(steps)
        heapq.heappush(self._queue, (first[0], self._sessions, first, steps))

    def _pick_item(self, tolerance: float) -> dict:
        rng = self.rng
        item = self.items[rng.choices(range(len(self.items)), cum_weights=self.item_weights)[0]]
        if item["price"] > 60 * tolerance and rng.random() < 0.5:
            item = self.items[rng.choices(range(len(self.items)), cum_weights=self.item_weights)[0]]
        return item

    def _session(self, user_index: int, ts: int, number: int) -> Iterator[tuple[int, str, dict]]:
        rng = self.rng
        user_id, kind, device, channel = self.users[user_index]
        session_id = f"s-{number}"
        # Evening traffic is busier and promotions lift carts and buys.
        hour = (ts // 3_600_000) % 24
        promo = rng.random() < 0.1
        boost = (1.3 if 18 <= hour <= 22 else 1.0) * (1.5 if promo else 1.0)
        common = {"user_id": user_id, "session_id": session_id, "device": device, "channel": channel}
        cart: list[dict] = []
        yield ts, "click", {"type": "page_view", "ts": ts, **common}
        for _ in range(max(1, int(rng.expovariate(1.0 / kind.views_per_session)))):
            ts += int(rng.expovariate(1 / 40_000)) + 1_000
            item = self._pick_item(kind.price_tolerance)
            yield ts, "click", {"type": "product_view", "ts": ts, **item, **common}
            if rng.random() < kind.cart_rate * boost:
                ts += int(rng.expovariate(1 / 20_000)) + 500
                cart.append(item)
                yield ts, "click", {"type": "add_to_cart", "ts": ts, **item, **common}
            if rng.random() < 0.05:
                ts += 5_000
                yield ts, "click", {"type": "search", "ts": ts, "query": item["category"], **common}
        if cart and rng.random() < kind.buy_rate * boost:
            ts += int(rng.expovariate(1 / 60_000)) + 2_000
            yield ts, "click", {"type": "checkout", "ts": ts, **common}
            ts += 3_000
            lines = [
                {"item_id": i["item_id"], "price": i["price"], "quantity": 1, "category": i["category"], "brand": i["brand"]}
                for i in cart
            ]
            yield ts, "purchase", {"user_id": user_id, "ts": ts, "order_id": f"o-{number}", "items": lines, "channel": channel}
        # The user's next visit.
        gap_ms = int(rng.expovariate(kind.sessions_per_day) * 86_400_000) + 60_000
        self._schedule_session(user_index, ts + gap_ms)

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        while self._queue:
            _ts, number, (_, kind, event), steps = heapq.heappop(self._queue)
            upcoming = next(steps, None)
            if upcoming is not None:
                heapq.heappush(self._queue, (upcoming[0], number, upcoming, steps))
            self._events += 1
            event["event_id"] = f"ev-{self._events}"
            yield kind, event

    def take(self, n: int) -> list[tuple[str, dict]]:
        return list(itertools.islice(self, n))


# Offers: a catalogue and a known response model per user type. This part only reads the
# generator's users; the clicks and purchases above come out exactly as without it.


@dataclass(frozen=True, slots=True)
class SimulatedOffer:
    """A catalogue entry and the chance that each user type clicks it when shown."""

    offer_id: str
    #: Click probability per user type name.
    response: dict[str, float]
    categories: tuple[str, ...] | None = None

    def entry(self) -> dict:
        """The entry as published on the ``offers`` topic (``offer.schema.json``)."""
        out: dict = {"offer_id": self.offer_id, "active": True, "attributes": {"simulated": True}}
        if self.categories is not None:
            out["categories"] = list(self.categories)
        return out


#: Each type has its own best offer; a voucher everyone ignores and a bundle only
#: electronics viewers are offered complete the catalogue. Bargain hunters answer
#: discounts, loyal buyers points, window shoppers novelty, one-time visitors free shipping.
SIMULATED_OFFERS: tuple[SimulatedOffer, ...] = (
    SimulatedOffer("free_shipping", {"window_shopper": 0.03, "bargain_hunter": 0.07, "loyal_buyer": 0.04, "one_time_visitor": 0.10}),
    SimulatedOffer("ten_percent_off", {"window_shopper": 0.04, "bargain_hunter": 0.14, "loyal_buyer": 0.03, "one_time_visitor": 0.05}),
    SimulatedOffer("loyalty_points", {"window_shopper": 0.01, "bargain_hunter": 0.02, "loyal_buyer": 0.18, "one_time_visitor": 0.01}),
    SimulatedOffer("new_arrivals", {"window_shopper": 0.07, "bargain_hunter": 0.03, "loyal_buyer": 0.06, "one_time_visitor": 0.03}),
    SimulatedOffer("gift_voucher", {"window_shopper": 0.01, "bargain_hunter": 0.01, "loyal_buyer": 0.01, "one_time_visitor": 0.01}),
    SimulatedOffer(
        "electronics_bundle",
        {"window_shopper": 0.02, "bargain_hunter": 0.05, "loyal_buyer": 0.10, "one_time_visitor": 0.02},
        categories=("electronics",),
    ),
)


def offer_truth(generator: TrafficGenerator, offers: tuple[SimulatedOffer, ...] = SIMULATED_OFFERS) -> dict:
    """The catalogue, the response model and every user's type: what an offline evaluation scores against.

    >>> truth = offer_truth(TrafficGenerator(users=3, items=5, seed=1))
    >>> sorted(truth)
    ['catalogue', 'response', 'user_types']
    >>> truth["response"]["loyalty_points"]["loyal_buyer"], len(truth["user_types"])
    (0.18, 3)
    """
    return {
        "catalogue": [offer.entry() for offer in offers],
        "response": {offer.offer_id: dict(offer.response) for offer in offers},
        "user_types": {user_id: kind.name for user_id, kind, _, _ in generator.users},
    }
