"""Pure per-user feature state, updated one event at a time in event time.

No Kafka, no Faust, no environment and no wall clock here: time arrives with
each event, so a replay computes exactly what live traffic computed.
"""

from features.decay import HALF_LIVES, decay_factor
from features.user_state import FEATURE_NAMES, StateBounds, UserState

__all__ = ["FEATURE_NAMES", "HALF_LIVES", "StateBounds", "UserState", "decay_factor"]
