"""The propensity model: a River classifier with a version that counts what it learned.

It also keeps the classifier finite. Features arrive bounded (``scorer.features.vector``),
but one learning step on a value the model has never seen can still push a weight to
infinity, and a NaN weight scores NaN forever after (and is checkpointed with the model).
So a learning step whose result is not finite is refused: the classifier goes back to its
last known-good copy (taken every :data:`GOOD_COPY_EVERY` examples, so at most that many
steps are lost, at a cost of one small pickle per thousand examples for ``logreg``) and the
refusal is counted in ``refused``. A score that is not a finite probability is never
returned: the prior rate is, counted in ``nonfinite_scores`` and logged once per model.

>>> model = PropensityModel("logreg", lineage="demo")
>>> 0.0 <= model.predict({"views": 1.0}) <= 1.0
True
>>> model.learn({"views": 3.0}, True)
>>> model.version
'demo.1'
>>> model.learn({"views": float("nan")}, True)
>>> model.refused, model.version, model.is_finite()
(1, 'demo.1', True)
"""

from __future__ import annotations

import logging
import math
import pickle

from river import base, compose, linear_model

from scorer.propensity.explain import score_with_reasons
from scorer.propensity.registry import PRIOR_RATE, make_model

__all__ = ["GOOD_COPY_EVERY", "PropensityModel", "is_finite_classifier"]

log = logging.getLogger(__name__)

#: Examples between two known-good copies of a ``logreg`` classifier; tree models, whose
#: pickles are megabytes, are copied ten times less often.
GOOD_COPY_EVERY = 1_000


def _linear_part(classifier: base.Classifier) -> linear_model.LogisticRegression | None:
    if isinstance(classifier, compose.Pipeline):
        classifier = list(classifier.steps.values())[-1]
    return classifier if isinstance(classifier, linear_model.LogisticRegression) else None


def is_finite_classifier(classifier: base.Classifier, probe: dict[str, float] | None = None) -> bool:
    """True when the classifier's parameters are finite (a linear model) or it scores ``probe`` finitely."""
    linear = _linear_part(classifier)
    if linear is not None:
        # A sum of finite weights is finite unless they are near 1e308: no real model's are.
        return math.isfinite(sum(linear._weights.values())) and math.isfinite(linear.intercept)
    if probe is None:
        return True
    p = classifier.predict_proba_one(probe).get(True, 0.0)
    return isinstance(p, float) and 0.0 <= p <= 1.0


class PropensityModel:
    """Scores ``P(purchase within the conversion window)`` and learns from resolved labels."""

    # Class-level defaults: snapshots pickled before these existed load with them.
    refused = 0
    nonfinite_scores = 0
    _good: bytes | None = None
    _probe: dict[str, float] | None = None

    def __init__(self, name: str, lineage: str, seed: int = 42) -> None:
        self.name = name
        self.lineage = lineage
        self.classifier: base.Classifier = make_model(name, seed)
        self.learned = 0
        self.learned_positive = 0
        self._copy_every = GOOD_COPY_EVERY if name == "logreg" else 10 * GOOD_COPY_EVERY

    @property
    def version(self) -> str:
        """``<lineage>.<examples learned>``: which model, and how far it has come."""
        return f"{self.lineage}.{self.learned}"

    def _checked(self, probability: float) -> float | None:
        if isinstance(probability, float) and 0.0 <= probability <= 1.0:  # NaN fails both
            return probability
        if not self.nonfinite_scores:
            log.error("model %s scored %r, not a probability: serving the prior %.3f instead", self.version, probability, PRIOR_RATE)
        self.nonfinite_scores += 1
        return None

    def predict(self, x: dict[str, float]) -> float:
        probability = self._checked(float(self.classifier.predict_proba_one(x).get(True, 0.0)))
        return PRIOR_RATE if probability is None else probability

    def predict_with_reasons(self, x: dict[str, float], k: int = 3) -> tuple[float, list[tuple[str, float]]]:
        """The probability and its ``k`` largest feature contributions (see :mod:`scorer.propensity.explain`)."""
        probability, why = score_with_reasons(self.classifier, x, k)
        checked = self._checked(probability)
        return (PRIOR_RATE, []) if checked is None else (checked, why)

    def is_finite(self) -> bool:
        """Whether the classifier's parameters (or its score of the last example learned) are finite."""
        return is_finite_classifier(self.classifier, self._probe)

    def learn(self, x: dict[str, float], y: bool) -> None:
        """Learn one example, unless it or the step it makes is not finite (then counted in ``refused``)."""
        if not all(math.isfinite(value) for value in x.values()):
            self.refused += 1
            return
        if self._good is None or self.learned % self._copy_every == 0:
            self._good = pickle.dumps(self.classifier, protocol=pickle.HIGHEST_PROTOCOL)
        self.classifier.learn_one(x, y)
        if not is_finite_classifier(self.classifier, x):
            self.classifier = pickle.loads(self._good)
            if not self.refused:
                log.error("a learning step made model %s non-finite: refused, back to its last good copy", self.version)
            self.refused += 1
            return
        self._probe = x
        self.learned += 1
        self.learned_positive += y
