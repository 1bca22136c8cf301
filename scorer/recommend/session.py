"""What the recommender remembers about one user: the current session, the cart, the purchases.

It lives inside the per-user record, which reaches a Kafka changelog on every
commit, so it is kept small and bounded: at most ``max_items`` recent item ids
of the session, ``max_cart`` cart items and ``max_purchased`` purchased items.
Measured as ``len(orjson.dumps(state.to_fields()))``: 22 bytes for a new user,
287 bytes for a session of 20 nine-digit item ids, 1,125 bytes with every
bound full (20 + 20 + 50 such ids); 91 bytes on average over the YooChoose
users and 111 over the REES46 users after replaying each sample.

>>> from scorer.events import ClickEvent
>>> s = SessionItems()
>>> s.starts_new(ClickEvent("e1", "u1", 1_000, "product_view", item_id="a", session_id="s1"))
True
>>> s.observe(ClickEvent("e1", "u1", 1_000, "product_view", item_id="a", session_id="s1"))
>>> s.observe(ClickEvent("e2", "u1", 2_000, "add_to_cart", item_id="b", session_id="s1"))
>>> s.items, s.cart, s.to_fields()
(['a', 'b'], ['b'], ['s1', 1000, 2000, ['a', 'b'], ['b'], []])
>>> SessionItems.from_fields(s.to_fields()).to_fields() == s.to_fields()
True
"""

from __future__ import annotations

from scorer.events import SESSION_GAP_S, ClickEvent, PurchaseEvent, starts_new_session

#: Click types whose item joins the session's items: what the user looked at or wanted.
SESSION_ITEM_TYPES = frozenset({"product_view", "add_to_cart"})

DEFAULT_SESSION_GAP_MS = int(SESSION_GAP_S * 1000)


def _append_bounded(values: list[str], value: str, limit: int) -> None:
    values.append(value)
    if len(values) > limit:
        del values[: len(values) - limit]


class SessionItems:
    """One user's recommendation state.

    Attributes
    ----------
    session_id
        The current session's id, or None when the user's events carry none.
    started
        Event time (epoch ms) of the session's first event; 0 before any.
    last_ts
        Event time (epoch ms) of the user's latest event; None before any.
    items
        Item ids viewed or carted in the session, oldest first, repeats kept
        (a repeat says the user came back to it), at most ``max_items``.
    cart
        Item ids in the cart, oldest first, at most ``max_cart``.
    purchased
        Item ids the user bought, across sessions, oldest first, at most ``max_purchased``.
    """

    __slots__ = ("session_id", "started", "last_ts", "items", "cart", "purchased")

    def __init__(
        self,
        session_id: str | None = None,
        started: int = 0,
        last_ts: int | None = None,
        items: list[str] | None = None,
        cart: list[str] | None = None,
        purchased: list[str] | None = None,
    ) -> None:
        self.session_id = session_id
        self.started = started
        self.last_ts = last_ts
        self.items: list[str] = items if items is not None else []
        self.cart: list[str] = cart if cart is not None else []
        self.purchased: list[str] = purchased if purchased is not None else []

    def starts_new(self, event: ClickEvent | PurchaseEvent, gap_ms: int = DEFAULT_SESSION_GAP_MS) -> bool:
        """Whether ``event`` opens a new session.

        The definition is the features' too (:func:`scorer.events.starts_new_session`):
        a different session id, or more than ``gap_ms`` of inactivity.
        """
        return starts_new_session(self.session_id, self.last_ts, getattr(event, "session_id", None), event.ts, gap_ms)

    def session_key(self, user_id: str) -> str:
        """A key for the session that no other user's or session's key equals."""
        tail = self.session_id if self.session_id is not None else f"@{self.started}"
        return f"{user_id}\x1f{tail}"

    def observe(
        self,
        event: ClickEvent | PurchaseEvent,
        gap_ms: int = DEFAULT_SESSION_GAP_MS,
        max_items: int = 20,
        max_cart: int = 20,
        max_purchased: int = 50,
    ) -> None:
        """Fold one event in, opening a new session first if it starts one."""
        if self.starts_new(event, gap_ms):
            self.session_id = getattr(event, "session_id", None)
            self.started = event.ts
            self.items = []
        self.last_ts = event.ts if self.last_ts is None else max(self.last_ts, event.ts)
        if isinstance(event, PurchaseEvent):
            for line in event.items:
                if line.item_id in self.cart:
                    self.cart.remove(line.item_id)
                if line.item_id not in self.purchased:
                    _append_bounded(self.purchased, line.item_id, max_purchased)
            return
        item = event.item_id
        if item is None:
            return
        if event.type in SESSION_ITEM_TYPES:
            _append_bounded(self.items, item, max_items)
        if event.type == "add_to_cart" and item not in self.cart:
            _append_bounded(self.cart, item, max_cart)
        elif event.type == "remove_from_cart" and item in self.cart:
            self.cart.remove(item)

    def to_fields(self) -> list:
        """The state as a plain JSON-able list, in slot order."""
        return [self.session_id, self.started, self.last_ts, self.items, self.cart, self.purchased]

    @classmethod
    def from_fields(cls, fields: list) -> SessionItems:
        session_id, started, last_ts, items, cart, purchased = fields
        return cls(session_id, started, last_ts, list(items), list(cart), list(purchased))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SessionItems) and self.to_fields() == other.to_fields()

    def __repr__(self) -> str:
        return f"SessionItems{tuple(self.to_fields())!r}"
