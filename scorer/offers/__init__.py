"""Next-best offer: a contextual bandit that learns which offer to show each user.

Pure (river and numpy; the user's feature state arrives as an argument). ``catalogue``
holds the live offers and their eligibility; ``context`` turns a user's features into
the bandit's context and segment; ``policy`` the River bandit with its exploration
floor and logged propensity; ``rewards`` the join of feedback and purchases to
decisions in event time; ``exposure`` the per-segment fairness counters; ``model`` the
per-user model the engine runs (:class:`OfferModel`); ``simulation`` the known-response
replay and its baselines; ``estimators`` off-policy estimates from logged propensities.
"""

from scorer.offers.catalogue import Catalogue, InvalidOffer, Offer
from scorer.offers.context import CONTEXT_FEATURES, SEGMENTS, context_of, segment_of
from scorer.offers.estimators import estimate
from scorer.offers.exposure import ExposureStats
from scorer.offers.feedback import Feedback, decode_feedback, decode_offer
from scorer.offers.model import DEFAULT_TRIGGERS, OfferModel, draws
from scorer.offers.policy import POLICIES, OfferPolicy
from scorer.offers.rewards import FEEDBACK_KINDS, Pending, RewardJoin
from scorer.offers.simulation import RewardTally

__all__ = [
    "CONTEXT_FEATURES",
    "Catalogue",
    "DEFAULT_TRIGGERS",
    "ExposureStats",
    "FEEDBACK_KINDS",
    "Feedback",
    "InvalidOffer",
    "Offer",
    "OfferModel",
    "OfferPolicy",
    "POLICIES",
    "Pending",
    "RewardJoin",
    "RewardTally",
    "SEGMENTS",
    "context_of",
    "decode_feedback",
    "decode_offer",
    "draws",
    "estimate",
    "segment_of",
]
