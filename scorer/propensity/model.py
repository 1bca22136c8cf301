"""The propensity model: a River classifier with a version that counts what it learned."""

from __future__ import annotations

from river import base

from scorer.propensity.explain import score_with_reasons
from scorer.propensity.registry import make_model


class PropensityModel:
    """Scores ``P(purchase within the conversion window)`` and learns from resolved labels.

    >>> model = PropensityModel("logreg", lineage="demo")
    >>> 0.0 <= model.predict({"views": 1.0}) <= 1.0
    True
    >>> model.learn({"views": 3.0}, True)
    >>> model.version
    'demo.1'
    """

    def __init__(self, name: str, lineage: str, seed: int = 42) -> None:
        self.name = name
        self.lineage = lineage
        self.classifier: base.Classifier = make_model(name, seed)
        self.learned = 0
        self.learned_positive = 0

    @property
    def version(self) -> str:
        """``<lineage>.<examples learned>``: which model, and how far it has come."""
        return f"{self.lineage}.{self.learned}"

    def predict(self, x: dict[str, float]) -> float:
        return float(self.classifier.predict_proba_one(x).get(True, 0.0))

    def predict_with_reasons(self, x: dict[str, float], k: int = 3) -> tuple[float, list[tuple[str, float]]]:
        """The probability and its ``k`` largest feature contributions (see :mod:`scorer.propensity.explain`)."""
        return score_with_reasons(self.classifier, x, k)

    def learn(self, x: dict[str, float], y: bool) -> None:
        self.classifier.learn_one(x, y)
        self.learned += 1
        self.learned_positive += y
