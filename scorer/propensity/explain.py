"""Why a score is high or low: the features that moved it most, cheap enough for every click.

A contribution is signed: positive pushes ``P(purchase)`` up, negative pulls it
down. The registered model is a logistic regression (alone or at the end of a
pipeline), and a contribution is in log-odds:
``x`` goes through the pipeline's own transformers (signed log, the
``StandardScaler``'s running means and variances, the z clip), so a
contribution is ``weight * standardized value``: how far the feature moves the
logit away from a user at the running mean of that feature. The contributions
plus the intercept are exactly the logit.

>>> from scorer.propensity.registry import make_model
>>> model = make_model("logreg")
>>> for i in range(200):
...     model.learn_one({"carts": float(i % 2), "noise": float(i % 3)}, i % 2 == 1)
>>> [name for name, _ in reasons(model, {"carts": 1.0, "noise": 0.0}, k=1)]
['carts']
>>> reasons(model, {"carts": 1.0, "noise": 0.0}, k=1)[0][1] > 0
True
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping

from river import base, compose, linear_model


def reasons(classifier: base.Classifier, x: Mapping[str, float], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` largest contributions to the score of ``x``, by absolute value.

    Features that did not move the score (a zero weight) are
    never reasons, nor is a non-finite contribution (a diverged weight must not
    reach a JSON payload), so fewer than ``k`` may come back, none from an
    untrained model. Ties are broken by name, so the answer is reproducible.
    """
    found = [
        (name, value)
        for name, value in contributions(classifier, x).items()
        if value and math.isfinite(value)
    ]
    # The k first of the full order, without sorting all of it (a few dozen features a click).
    return heapq.nsmallest(k, found, key=lambda item: (-abs(item[1]), item[0]))


def score_with_reasons(classifier: base.Classifier, x: Mapping[str, float], k: int = 3) -> tuple[float, list[tuple[str, float]]]:
    """``P(True)`` for ``x`` and its ``k`` reasons, sharing the work where the model allows.

    A pipeline's transformers run once for both: for the default logistic
    regression that halves the cost of an explained score. The probability is
    the one ``predict_proba_one`` gives.
    """
    if isinstance(classifier, compose.Pipeline):
        steps = list(classifier.steps.values())
        for step in steps[:-1]:
            x = step.transform_one(x)
        classifier = steps[-1]
    probability = float(classifier.predict_proba_one(x).get(True, 0.0))
    return probability, reasons(classifier, x, k) if k else []


def contributions(classifier: base.Classifier, x: Mapping[str, float]) -> dict[str, float]:
    """Every feature's signed contribution to the score of ``x`` (see the module docstring)."""
    if isinstance(classifier, compose.Pipeline):
        steps = list(classifier.steps.values())
        for step in steps[:-1]:
            x = step.transform_one(x)
        return contributions(steps[-1], x)
    if isinstance(classifier, linear_model.LogisticRegression):
        weights = classifier.weights
        return {name: weights[name] * value for name, value in x.items() if name in weights}
    raise TypeError(f"no explanation for a {type(classifier).__name__}")
