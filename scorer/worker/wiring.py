"""The composition root: from a :class:`Settings` to the models and policies the worker runs.

Every process that runs the scorer's models (the worker, ``scorer evaluate``, the
benchmarks) builds them here, so they all run the same configuration and none of them
has to import the per-message hot path to get it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scorer.clv import LifetimeValue
from scorer.offers import Catalogue, OfferModel, OfferPolicy
from scorer.propensity import ChampionChallenger, PropensityModel, QualityTracker
from scorer.recommend import Recommender, RecommenderConfig
from scorer.scoring import ListPolicy, ScoringPipeline, UserModel
from scorer.segments import Clusters, SegmentModel
from scorer.settings import Settings

__all__ = ["list_policy", "make_lifetime_value", "make_offer_model", "make_pipeline", "make_recommender", "make_segments", "make_user_models", "user_model"]


def list_policy(settings: Settings) -> ListPolicy:
    """When lists are published and how long they are."""
    return ListPolicy(
        triggers=settings.reco_trigger_types,
        min_interval_ms=int(settings.reco_min_interval_s * 1000),
        k=settings.reco_k,
    )


def make_pipeline(settings: Settings, lineage: str) -> ScoringPipeline:
    """The propensity pipeline the settings describe: a champion (and its challengers) and live quality."""
    model = ChampionChallenger(PropensityModel(settings.model, lineage=lineage), margin=settings.drift_margin)
    return ScoringPipeline(
        model, window_s=settings.conversion_window_s, quality=QualityTracker(window=settings.quality_window)
    )


def make_recommender(settings: Settings) -> Recommender:
    """The blended recommender with the settings' list length, exclusions and weights."""
    weights = {f"{name}_weight": weight for name, weight in settings.reco_blend.items()}
    return Recommender(
        RecommenderConfig(
            k=settings.reco_k,
            exclude_purchased=settings.reco_exclude_purchased,
            exclude_cart=settings.reco_exclude_cart,
            **weights,
        )
    )


def make_lifetime_value(settings: Settings) -> LifetimeValue:
    """Customer lifetime value over the settings' horizon, refitted on their schedule in event time."""
    return LifetimeValue(
        horizon_days=settings.clv_horizon_days,
        sample_size=settings.clv_sample_size,
        refit_every_ms=int(settings.clv_refit_interval_s * 1000),
    )


def make_segments(settings: Settings, lineage: str) -> SegmentModel:
    """RFM segments and at most ``SCORER_SEGMENT_CLUSTERS`` behavioural clusters."""
    return SegmentModel(
        Clusters(n_clusters=settings.segment_clusters), lineage=lineage, min_dwell_days=settings.segment_min_dwell_days
    )


def make_user_models(settings: Settings, lineage: str = "seg") -> list[UserModel]:
    """The per-user models the engine keeps beside propensity, each publishing to ``topic_scores_<name>``."""
    models: list[UserModel] = [make_lifetime_value(settings), make_segments(settings, lineage)]
    models.append(make_offer_model(settings))
    return models


def user_model(models: Iterable[UserModel], name: str) -> Any | None:
    """The per-user model called ``name`` among ``models``, or None when it is not built."""
    return next((model for model in models if model.name == name), None)


def make_offer_model(settings: Settings, catalogue: Catalogue | None = None, purchase_reward: bool | None = None) -> OfferModel:
    """Next-best offer: the settings' bandit, floor, triggers and cap; off until the catalogue has offers."""
    return OfferModel(
        catalogue if catalogue is not None else Catalogue(),
        OfferPolicy(settings.offers_policy, floor=settings.offers_floor),
        window_ms=int(settings.conversion_window_s * 1000),
        triggers=settings.offers_trigger_types,
        min_interval_ms=int(settings.offers_min_interval_s * 1000),
        purchase_reward=settings.offers_purchase_reward if purchase_reward is None else purchase_reward,
    )
