"""Per-user feature state and the catalog's rates, updated one event at a time in event time.

Pure (events only): no Kafka, Faust, environment or wall clock. Time arrives with each
event, so a replay computes exactly what live traffic computed. ``user_state`` is what the
scorer remembers per user, ``catalog`` the item- and category-level rates over all users,
and ``vector`` joins them into the bounded vector a model sees (:data:`FEATURE_NAMES`).
"""

from scorer.features.decay import HALF_LIVES, decay_factor
from scorer.features.user_state import DEFAULT_BOUNDS, NO_PURCHASE_RECENCY_S, StateBounds, UserState
from scorer.features.user_state import FEATURE_NAMES as USER_FEATURE_NAMES
from scorer.features.catalog import CATALOG_FEATURE_NAMES, CatalogRates
from scorer.features.vector import CLIP, FEATURE_NAMES, VECTOR_VERSION, FeatureBuilder, bounded

__all__ = [
    "CATALOG_FEATURE_NAMES",
    "CLIP",
    "CatalogRates",
    "DEFAULT_BOUNDS",
    "FEATURE_NAMES",
    "FeatureBuilder",
    "HALF_LIVES",
    "NO_PURCHASE_RECENCY_S",
    "StateBounds",
    "USER_FEATURE_NAMES",
    "UserState",
    "VECTOR_VERSION",
    "bounded",
    "decay_factor",
]
