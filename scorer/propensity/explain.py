"""Why a score is high or low: the features that moved it most, cheap enough for every click.

A contribution is signed: positive pushes ``P(purchase)`` up, negative pulls it
down. Its unit depends on the model, so compare contributions within one score,
not across models:

* logistic regression (alone or at the end of a pipeline): log-odds.
  ``x`` goes through the pipeline's own transformers (signed log, the
  ``StandardScaler``'s running means and variances, the z clip), so a
  contribution is ``weight * standardized value``: how far the feature moves the
  logit away from a user at the running mean of that feature. The contributions
  plus the intercept are exactly the logit.
* Hoeffding trees (``hat``, the members of ``arf``): probability. Walking the
  path of ``x``, every split hands its feature the change in ``P(True)`` from the
  node to the child ``x`` goes to (Saabas' decomposition, "treeinterpreter").
  Only the features tested on the path get a contribution, so a path costs its
  depth and the contributions add up to the leaf's class share minus the root's.
* Adaptive random forest: the members' contributions, averaged with the weights
  of the forest's own vote, so they add up the way the forest's probability does.

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

from river import base, compose, forest, linear_model, tree
from river.tree.nodes.branch import DTBranch


#: Features that describe when the click happened, not what the user did: they stay in the
#: model (purchase rates do follow the clock) but are never given as reasons, since a
#: marketer cannot act on the hour. On REES46 the hour was among the top three reasons of
#: 99.9 % of scores.
CONTEXT_FEATURES = frozenset({"hour_sin", "hour_cos", "dow_sin", "dow_cos"})


def reasons(classifier: base.Classifier, x: Mapping[str, float], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` largest contributions to the score of ``x``, by absolute value, time of day aside.

    Features that did not move the score (a zero weight, off the tree path) are
    never reasons, nor is a non-finite contribution (a diverged weight must not
    reach a JSON payload), so fewer than ``k`` may come back, none from an
    untrained model. Ties are broken by name, so the answer is reproducible.
    """
    found = [
        (name, value)
        for name, value in contributions(classifier, x).items()
        if value and math.isfinite(value) and name not in CONTEXT_FEATURES
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
    if isinstance(classifier, tree.HoeffdingTreeClassifier):
        return _path_contributions(classifier, x)
    if isinstance(classifier, forest.ARFClassifier):
        return _forest_contributions(classifier, x)
    raise TypeError(f"no explanation for a {type(classifier).__name__}")


def _true_share(stats: Mapping) -> float | None:
    total = sum(stats.values())
    return stats.get(True, 0.0) / total if total > 0 else None


def _path_contributions(model: tree.HoeffdingTreeClassifier, x: Mapping[str, float]) -> dict[str, float]:
    # Only the main path: the alternate subtrees a Hoeffding adaptive tree grows
    # while it suspects drift also vote, but are not the model yet. Nor is a
    # naive Bayes leaf's correction of its class share attributed: it mixes all
    # features and would cost a pass over them.
    root = model._root
    if not isinstance(root, DTBranch):
        return {}
    out: dict[str, float] = {}
    parent: DTBranch | None = None
    parent_share: float | None = None
    for node in root.walk(x, until_leaf=True):
        share = _true_share(node.stats)
        # A branch's feature missing from x sent it down the most common path:
        # that step says nothing about x.
        if parent is not None and share is not None and parent_share is not None and parent.feature in x:
            out[parent.feature] = out.get(parent.feature, 0.0) + share - parent_share
        parent = node if isinstance(node, DTBranch) else None
        parent_share = share
    return out


def _forest_contributions(model: forest.ARFClassifier, x: Mapping[str, float]) -> dict[str, float]:
    # The forest's vote weighs each member by its running metric when that is
    # positive (see ARFClassifier.predict_proba_one); the same weights here.
    weighted: dict[str, float] = {}
    total = 0.0
    for member, metric in zip(model, model._metrics):
        value = metric.get()
        weight = value if not model.disable_weighted_vote and value > 0.0 else 1.0
        total += weight
        for name, contribution in _path_contributions(member, x).items():
            weighted[name] = weighted.get(name, 0.0) + weight * contribution
    return {name: value / total for name, value in weighted.items()} if total else {}
