"""Purchase propensity: River classifiers, delayed conversion labels, drift handling, live quality.

Pure (events, river, numpy). ``registry`` names the classifiers, ``model`` wraps one with
a version, ``explain`` says why a score is what it is, ``champion`` runs a challenger in
the shadow after a drift, ``labels`` holds clicks until their conversion window closes,
``quality`` measures the published scores as labels resolve and ``metrics`` holds the
exact whole-sample metrics of offline reports and ``intervals`` their bootstrap over users. A sibling of ``recommend``: neither
imports the other; ``scoring`` joins them per event.
"""

from scorer.propensity.registry import MODELS, make_model
from scorer.propensity.model import PropensityModel
from scorer.propensity.explain import contributions, reasons, score_with_reasons
from scorer.propensity.champion import ChampionChallenger, example_log_loss
from scorer.propensity.labels import CONVERSION_WINDOW_S, ExpiryQueue, PendingExamples, Resolved, as_float32
from scorer.propensity.quality import OTHER, QualityTracker, UNKNOWN
from scorer.propensity.intervals import bootstrap_by_user, weighted_log_loss, weighted_roc_auc
from scorer.propensity.metrics import average_precision, base_rate_entropy, brier, calibration_bins, expected_calibration_error, log_loss, propensity_report, roc_auc

__all__ = [
    "CONVERSION_WINDOW_S",
    "ChampionChallenger",
    "ExpiryQueue",
    "MODELS",
    "OTHER",
    "PendingExamples",
    "PropensityModel",
    "QualityTracker",
    "Resolved",
    "UNKNOWN",
    "as_float32",
    "average_precision",
    "base_rate_entropy",
    "bootstrap_by_user",
    "brier",
    "calibration_bins",
    "contributions",
    "example_log_loss",
    "expected_calibration_error",
    "log_loss",
    "make_model",
    "propensity_report",
    "reasons",
    "roc_auc",
    "score_with_reasons",
    "weighted_log_loss",
    "weighted_roc_auc",
]
