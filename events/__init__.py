"""The event contract: typed click and purchase events and their decoder.

Imports flow one way through the project: ``events`` -> ``features`` ->
``online_models`` -> ``streams``. This package depends on nothing above it.
"""

from events.decode import InvalidEvent, decode_click, decode_consent, decode_purchase, parse_ts
from events.schema import CLICK_TYPES, CONSENT_ACTIONS, ClickEvent, ConsentEvent, PurchaseEvent, PurchaseItem

__all__ = [
    "CLICK_TYPES",
    "CONSENT_ACTIONS",
    "ClickEvent",
    "ConsentEvent",
    "InvalidEvent",
    "PurchaseEvent",
    "PurchaseItem",
    "decode_click",
    "decode_consent",
    "decode_purchase",
    "parse_ts",
]
