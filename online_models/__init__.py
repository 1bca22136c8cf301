"""Online River models, delayed-label joins and the pure scoring pipeline.

Depends on ``events`` and ``features`` only: no Kafka, Faust, Prometheus,
environment or wall clock.
"""

from online_models.labels import PendingExamples
from online_models.pipeline import Score, ScoringPipeline
from online_models.propensity import PropensityModel
from online_models.record import UserRecord
from online_models.registry import MODELS, make_model

__all__ = [
    "MODELS",
    "PendingExamples",
    "PropensityModel",
    "Score",
    "ScoringPipeline",
    "UserRecord",
    "make_model",
]
