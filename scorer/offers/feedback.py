"""Decoding ``offers.feedback`` (``offer-feedback.schema.json``) and catalogue records.

>>> decode_feedback(b'{"decision_id": "d-1", "user_id": "u1", "type": "click", "ts": 1700000000000}')
Feedback(decision_id='d-1', user_id='u1', kind='click', ts=1700000000000)
>>> decode_feedback(b'{"decision_id": "d-1", "user_id": "u1", "type": "like", "ts": 1}')
Traceback (most recent call last):
...
scorer.events.decode.InvalidEvent: type must be impression or click
"""

from __future__ import annotations

from typing import NamedTuple

import orjson

from scorer.events import InvalidEvent, parse_ts
from scorer.offers.catalogue import InvalidOffer, Offer
from scorer.offers.rewards import FEEDBACK_KINDS

__all__ = ["Feedback", "decode_feedback", "decode_offer"]


class Feedback(NamedTuple):
    decision_id: str
    user_id: str
    kind: str
    ts: int


def _object(raw: bytes) -> dict:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("malformed_json", str(exc)) from None
    if not isinstance(doc, dict):
        raise InvalidEvent("not_an_object", "a JSON object is expected")
    return doc


def decode_feedback(raw: bytes) -> Feedback:
    """One impression or click; raises :class:`~scorer.events.InvalidEvent`."""
    doc = _object(raw)
    for name in ("decision_id", "user_id"):
        value = doc.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= 256:
            raise InvalidEvent("missing_field", f"{name} must be a string of 1-256 characters")
    kind = doc.get("type")
    if kind not in FEEDBACK_KINDS:
        raise InvalidEvent("invalid_value", "type must be impression or click")
    if "ts" not in doc:
        raise InvalidEvent("missing_field", "ts is required")
    return Feedback(doc["decision_id"], doc["user_id"], kind, parse_ts(doc["ts"]))


def decode_offer(raw: bytes) -> Offer:
    """One catalogue entry; raises :class:`~scorer.offers.catalogue.InvalidOffer`."""
    try:
        return Offer.from_dict(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise InvalidOffer(str(exc)) from None
