"""The contract in and out: typed input events, their decoder, the published payloads, partitioning.

Pure: stdlib and orjson only. Every other room of the scorer may import this one, and it
imports none of them. ``schemas/`` holds one JSON Schema per topic payload, for producers
and consumers in other languages; the tests validate what this code reads and writes
against them.
"""

from scorer.events.schema import CLICK_TYPES, CONSENT_ACTIONS, ClickEvent, ConsentEvent, PurchaseEvent, PurchaseItem
from scorer.events.decode import InvalidEvent, decode_click, decode_consent, decode_purchase, parse_ts
from scorer.events.outputs import RecommendationList, Score, SegmentAssignment, list_payload, score_payload
from scorer.events.outputs import CustomerValue
from scorer.events.outputs import OfferDecision
from scorer.events.partitioning import murmur2, partition_for
from scorer.events.sessions import SESSION_GAP_S, starts_new_session

__all__ = [
    "CLICK_TYPES",
    "CONSENT_ACTIONS",
    "ClickEvent",
    "ConsentEvent",
    "CustomerValue",
    "InvalidEvent",
    "OfferDecision",
    "PurchaseEvent",
    "PurchaseItem",
    "RecommendationList",
    "SESSION_GAP_S",
    "Score",
    "SegmentAssignment",
    "decode_click",
    "decode_consent",
    "decode_purchase",
    "list_payload",
    "murmur2",
    "parse_ts",
    "partition_for",
    "score_payload",
    "starts_new_session",
]
