"""Decode raw Kafka message values into typed events, or say exactly why not.

Every rejection raises :class:`InvalidEvent` with a short machine-readable
``reason`` (used for dead-letter headers and metric labels) and a human
readable message. Unknown extra fields are ignored so producers can add
fields before the scorer knows them.

>>> decode_click(b'{"event_id":"e1","user_id":"u1","ts":1700000000000,"type":"page_view"}').type
'page_view'
>>> decode_click(b'{"event_id":"e1","user_id":"u1","ts":"2023-11-14T22:13:20Z","type":"search"}').ts
1700000000000
>>> try:
...     decode_click(b'{"event_id":"e1","user_id":"u1","ts":1700000000000,"type":"teleport"}')
... except InvalidEvent as exc:
...     print(exc.reason)
unknown_type

An empty string in an optional field means the field is absent (CSV exports and many
producers cannot write a null); in a required field it is still invalid:

>>> click = decode_click(b'{"event_id":"e1","user_id":"u1","ts":1700000000000,"type":"page_view","session_id":"","brand":""}')
>>> click.session_id, click.brand
(None, None)

Numbers are bounded (:data:`MAX_PRICE`, :data:`MAX_QUANTITY`): a price of 1e50 is not a
price, and features multiply prices by quantities and sum them, so it is dead-lettered
rather than left to overflow a model:

>>> try:
...     decode_click(b'{"event_id":"e1","user_id":"u1","ts":1700000000000,"type":"page_view","price":1e50}')
... except InvalidEvent as exc:
...     print(exc.reason)
out_of_range
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import orjson

from scorer.events.schema import CLICK_TYPES, CONSENT_ACTIONS, ClickEvent, ConsentEvent, PurchaseEvent, PurchaseItem

#: Largest accepted message value, in bytes.
MAX_MESSAGE_BYTES = 64 * 1024
#: Longest accepted identifier (event, user, item, order, session ids).
MAX_ID_LENGTH = 256
#: Accepted event-time range, epoch ms: 1990-01-01 to 2100-01-01 (UTC); the CDNOW log starts in 1997.
MIN_TS_MS = 631_152_000_000
MAX_TS_MS = 4_102_444_800_000
#: Largest accepted unit price, in any currency: above a billion (a private jet in yen) it is
#: a producer's bug, and prices feed sums and products in the features.
MAX_PRICE = 1e9
#: Largest accepted quantity of one order line.
MAX_QUANTITY = 100_000

_CLICK_TYPES = frozenset(CLICK_TYPES)
_OPTIONAL_CLICK_STRINGS = ("category", "brand", "query", "channel", "device")
_OPTIONAL_CLICK_IDS = ("item_id", "session_id")


class InvalidEvent(ValueError):
    """A message that does not satisfy the v1 event contract."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_ts(value: Any) -> int:
    """Event time as epoch milliseconds, from an int or an RFC 3339 string.

    >>> parse_ts(1700000000123)
    1700000000123
    >>> parse_ts("2023-11-14T22:13:20.5+00:00")
    1700000000500
    """
    if isinstance(value, bool):
        raise InvalidEvent("wrong_type", "ts must be epoch milliseconds or an RFC 3339 string")
    if isinstance(value, int):
        ts = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidEvent("bad_timestamp", f"ts is not RFC 3339: {value[:64]!r}") from None
        if parsed.tzinfo is None:
            raise InvalidEvent("bad_timestamp", "ts string needs a UTC offset (RFC 3339)")
        ts = round(parsed.astimezone(timezone.utc).timestamp() * 1000)
    else:
        raise InvalidEvent("wrong_type", "ts must be epoch milliseconds or an RFC 3339 string")
    if not MIN_TS_MS <= ts < MAX_TS_MS:
        raise InvalidEvent("bad_timestamp", f"ts {ts} is outside 1990-01-01..2100-01-01")
    return ts


def _load_object(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidEvent("too_large", f"message is {len(raw)} bytes, limit {MAX_MESSAGE_BYTES}")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = "invalid_utf8" if "utf-8" in str(exc).lower() else "malformed_json"
        raise InvalidEvent(reason, f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidEvent("not_an_object", "event must be a JSON object")
    return doc


def _id(doc: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = doc.get(field)
    if value is None or (value == "" and not required):
        if required:
            raise InvalidEvent("missing_field", f"{field} is required")
        return None
    if not isinstance(value, str):
        raise InvalidEvent("wrong_type", f"{field} must be a string")
    if not 0 < len(value) <= MAX_ID_LENGTH:
        raise InvalidEvent("invalid_value", f"{field} must be 1..{MAX_ID_LENGTH} characters")
    return value


def _text(doc: dict[str, Any], field: str) -> str | None:
    value = doc.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEvent("wrong_type", f"{field} must be a string")
    return value


def _amount(value: Any, field: str) -> float:
    # bool is an int subclass; true is not a price.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidEvent("wrong_type", f"{field} must be a number")
    if not math.isfinite(value) or value < 0:
        raise InvalidEvent("invalid_value", f"{field} must be finite and >= 0")
    if value > MAX_PRICE:
        raise InvalidEvent("out_of_range", f"{field} must be at most {MAX_PRICE:g}")
    return float(value)


def _ts(doc: dict[str, Any]) -> int:
    if "ts" not in doc:
        raise InvalidEvent("missing_field", "ts is required")
    return parse_ts(doc["ts"])


def decode_click(raw: bytes) -> ClickEvent:
    """Decode one clickstream message value."""
    doc = _load_object(raw)
    event_id = _id(doc, "event_id")
    user_id = _id(doc, "user_id")
    ts = _ts(doc)
    kind = doc.get("type")
    if kind is None:
        raise InvalidEvent("missing_field", "type is required")
    if kind not in _CLICK_TYPES:
        raise InvalidEvent("unknown_type", f"unknown click type {str(kind)[:64]!r}")
    price = doc.get("price")
    if price == "":
        price = None
    return ClickEvent(
        event_id=event_id,  # type: ignore[arg-type]
        user_id=user_id,  # type: ignore[arg-type]
        ts=ts,
        type=kind,
        item_id=_id(doc, "item_id", required=False),
        category=_text(doc, "category"),
        brand=_text(doc, "brand"),
        price=None if price is None else _amount(price, "price"),
        session_id=_id(doc, "session_id", required=False),
        query=_text(doc, "query"),
        channel=_text(doc, "channel"),
        device=_text(doc, "device"),
    )


def _purchase_item(doc: Any, index: int) -> PurchaseItem:
    if not isinstance(doc, dict):
        raise InvalidEvent("wrong_type", f"items[{index}] must be an object")
    if "price" not in doc:
        raise InvalidEvent("missing_field", f"items[{index}].price is required")
    quantity = doc.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidEvent("wrong_type", f"items[{index}].quantity must be an integer")
    if quantity < 0:
        raise InvalidEvent("invalid_value", f"items[{index}].quantity must be >= 0")
    if quantity > MAX_QUANTITY:
        raise InvalidEvent("out_of_range", f"items[{index}].quantity must be at most {MAX_QUANTITY}")
    return PurchaseItem(
        item_id=_id(doc, "item_id"),  # type: ignore[arg-type]
        price=_amount(doc["price"], f"items[{index}].price"),
        quantity=quantity,
        category=_text(doc, "category"),
        brand=_text(doc, "brand"),
    )


def decode_purchase(raw: bytes) -> PurchaseEvent:
    """Decode one purchase message value."""
    doc = _load_object(raw)
    event_id = _id(doc, "event_id")
    user_id = _id(doc, "user_id")
    ts = _ts(doc)
    order_id = _id(doc, "order_id")
    items = doc.get("items")
    if items is None:
        raise InvalidEvent("missing_field", "items is required")
    if not isinstance(items, list):
        raise InvalidEvent("wrong_type", "items must be a list")
    if not items:
        raise InvalidEvent("invalid_value", "items must not be empty")
    return PurchaseEvent(
        event_id=event_id,  # type: ignore[arg-type]
        user_id=user_id,  # type: ignore[arg-type]
        ts=ts,
        order_id=order_id,  # type: ignore[arg-type]
        items=tuple(_purchase_item(item, i) for i, item in enumerate(items)),
        currency=_text(doc, "currency"),
        channel=_text(doc, "channel"),
    )


def decode_consent(raw: bytes) -> ConsentEvent:
    """Decode one consent request: ``{event_id, user_id, ts, action}``."""
    doc = _load_object(raw)
    event_id = _id(doc, "event_id")
    user_id = _id(doc, "user_id")
    ts = _ts(doc)
    action = doc.get("action")
    if action is None:
        raise InvalidEvent("missing_field", "action is required")
    if action not in CONSENT_ACTIONS:
        raise InvalidEvent("unknown_type", f"unknown consent action {str(action)[:64]!r}")
    return ConsentEvent(event_id=event_id, user_id=user_id, ts=ts, action=action)  # type: ignore[arg-type]
