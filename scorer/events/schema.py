"""Typed events of the v1 contract.

The JSON Schema files in ``events/schemas/`` describe the same contract for
producers written in other languages; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Click event types, in funnel order.
CLICK_TYPES: tuple[str, ...] = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
)


@dataclass(slots=True, frozen=True)
class ClickEvent:
    """One clickstream event. ``ts`` is event time in epoch milliseconds (UTC)."""

    event_id: str
    user_id: str
    ts: int
    type: str
    item_id: str | None = None
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    session_id: str | None = None
    query: str | None = None
    channel: str | None = None
    device: str | None = None


@dataclass(slots=True, frozen=True)
class PurchaseItem:
    """One line of an order."""

    item_id: str
    price: float
    quantity: int = 1
    category: str | None = None
    brand: str | None = None


@dataclass(slots=True, frozen=True)
class PurchaseEvent:
    """One order. ``ts`` is event time in epoch milliseconds (UTC)."""

    event_id: str
    user_id: str
    ts: int
    order_id: str
    items: tuple[PurchaseItem, ...]
    currency: str | None = None
    channel: str | None = None

    @property
    def revenue(self) -> float:
        """Order value: the sum of price times quantity over its lines."""
        return sum(item.price * item.quantity for item in self.items)


#: Actions of a consent request.
CONSENT_ACTIONS: tuple[str, ...] = ("opt_out", "opt_in", "erase")


@dataclass(slots=True, frozen=True)
class ConsentEvent:
    """A user's consent or erasure request, on the compacted ``consent`` topic."""

    event_id: str
    user_id: str
    ts: int
    action: str
