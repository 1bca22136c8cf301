"""Per-user feature state, updated one event at a time in event time.

Pure (events only): no Kafka, Faust, environment or wall clock. Time arrives with each
event, so a replay computes exactly what live traffic computed.
"""

from scorer.features.decay import HALF_LIVES, decay_factor
from scorer.features.user_state import DEFAULT_BOUNDS, FEATURE_NAMES, NO_PURCHASE_RECENCY_S, StateBounds, UserState

__all__ = [
    "DEFAULT_BOUNDS",
    "FEATURE_NAMES",
    "HALF_LIVES",
    "NO_PURCHASE_RECENCY_S",
    "StateBounds",
    "UserState",
    "decay_factor",
]
