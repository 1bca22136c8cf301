"""Next-item recommendations learned from the clickstream as it flows.

Pure (events, numpy). ``forward_decay`` gives event-time decay without touching every
weight, ``session`` is what a user's record keeps for the recommender, ``cooccurrence``,
``transitions`` (sequential rules on the last two views), ``session_knn`` and ``popularity`` are the models, ``recommender`` blends them, ``replica`` is a worker's copy fed
every user's events, and ``metrics`` measures lists prequentially (HR and MRR). A sibling of ``propensity``.
"""

from scorer.recommend.forward_decay import ForwardDecay
from scorer.recommend.eviction import FORGET_BELOW, decayed_away, least_used
from scorer.recommend.session import SESSION_ITEM_TYPES, SessionItems
from scorer.recommend.cooccurrence import CoOccurrence
from scorer.recommend.session_knn import SessionKNN
from scorer.recommend.transitions import PairTransitions
from scorer.recommend.popularity import Popularity
from scorer.recommend.recommender import POPULAR, POPULAR_IN_CATEGORY, SESSION, Recommendation, Recommender, RecommenderConfig
from scorer.recommend.replica import RecommenderReplica
from scorer.recommend.metrics import NextItemEvaluator, NextItemMetrics, WindowedNextItem, hide_item, prequential_next_item

__all__ = [
    "CoOccurrence",
    "FORGET_BELOW",
    "ForwardDecay",
    "NextItemEvaluator",
    "NextItemMetrics",
    "POPULAR",
    "PairTransitions",
    "POPULAR_IN_CATEGORY",
    "Popularity",
    "Recommendation",
    "Recommender",
    "RecommenderConfig",
    "RecommenderReplica",
    "SESSION",
    "SESSION_ITEM_TYPES",
    "SessionItems",
    "SessionKNN",
    "WindowedNextItem",
    "decayed_away",
    "hide_item",
    "least_used",
    "prequential_next_item",
]
