"""95 % intervals for ROC-AUC and log loss, from a bootstrap over users.

Consecutive clicks of one user share their label (a purchase converts every click of the
half hour before it), so clicks are not independent and an interval that resamples clicks
is far too narrow. Users are independent of each other: each replicate draws users with
replacement and weighs every click by how often its user was drawn. ROC-AUC with weights
needs one sort for all replicates (ties count half, as in :func:`metrics.roc_auc`).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> users = np.repeat(np.arange(200), 10)
>>> labels = rng.random(2000) < 0.2
>>> scores = np.where(labels, 0.6, 0.4) + rng.normal(0, 0.2, 2000)
>>> ci = bootstrap_by_user(labels, np.clip(scores, 0.01, 0.99), users, replicates=200)
>>> low, high = ci["roc_auc_ci"]
>>> bool(low < weighted_roc_auc(labels, scores, np.ones(2000)) < high), round(high - low, 2) < 0.1
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_by_user", "weighted_log_loss", "weighted_roc_auc"]

_EPS = 1e-15


def _tie_groups(scores: np.ndarray) -> tuple[np.ndarray, int]:
    _, inverse = np.unique(scores, return_inverse=True)
    return inverse, int(inverse.max()) + 1 if len(inverse) else 0


def _auc(labels: np.ndarray, weights: np.ndarray, groups: np.ndarray, n_groups: int) -> float:
    positive = np.bincount(groups, weights=np.where(labels, weights, 0.0), minlength=n_groups)
    negative = np.bincount(groups, weights=np.where(labels, 0.0, weights), minlength=n_groups)
    total_pos, total_neg = positive.sum(), negative.sum()
    if total_pos <= 0 or total_neg <= 0:
        return float("nan")
    below = np.cumsum(negative) - negative
    return float((positive * (below + negative / 2)).sum() / (total_pos * total_neg))


def weighted_roc_auc(labels: Sequence[bool], scores: Sequence[float], weights: Sequence[float]) -> float:
    """ROC-AUC where each example counts ``weight`` times (ties count half).

    >>> weighted_roc_auc([True, False, True, False], [0.9, 0.1, 0.4, 0.5], [1, 1, 1, 1])
    0.75
    """
    y, p, w = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float), np.asarray(weights, dtype=float)
    groups, n = _tie_groups(p)
    return _auc(y, w, groups, n)


def weighted_log_loss(labels: Sequence[bool], scores: Sequence[float], weights: Sequence[float]) -> float:
    y, p, w = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float), np.asarray(weights, dtype=float)
    p = np.clip(p, _EPS, 1 - _EPS)
    return float((w * -np.where(y, np.log(p), np.log(1 - p))).sum() / w.sum())


def bootstrap_by_user(
    labels: Sequence[bool],
    scores: Sequence[float],
    users: Sequence,
    replicates: int = 500,
    seed: int = 19,
    level: float = 0.95,
) -> dict[str, list[float]]:
    """Percentile intervals ``{"roc_auc_ci": [low, high], "log_loss_ci": [...], "base_rate_log_loss_ci": [...]}``.

    Deterministic for a ``seed``. Empty input gives NaN bounds.
    """
    y = np.asarray(labels, dtype=bool)
    p = np.clip(np.asarray(scores, dtype=float), _EPS, 1 - _EPS)
    nan = {"roc_auc_ci": [float("nan")] * 2, "log_loss_ci": [float("nan")] * 2, "base_rate_log_loss_ci": [float("nan")] * 2}
    if not len(y):
        return nan
    _, user_index = np.unique(np.asarray(users), return_inverse=True)
    n_users = int(user_index.max()) + 1
    groups, n_groups = _tie_groups(p)
    losses = -np.where(y, np.log(p), np.log(1 - p))
    rng = np.random.default_rng(seed)
    aucs, lls, base = [], [], []
    for _ in range(replicates):
        draws = np.bincount(rng.integers(0, n_users, n_users), minlength=n_users).astype(float)
        weights = draws[user_index]
        total = weights.sum()
        aucs.append(_auc(y, weights, groups, n_groups))
        lls.append(float((weights * losses).sum() / total))
        rate = min(max(float(weights[y].sum() / total), _EPS), 1 - _EPS)
        base.append(-(rate * np.log(rate) + (1 - rate) * np.log(1 - rate)))
    tail = (1 - level) / 2 * 100
    bounds = lambda values: [float(v) for v in np.nanpercentile(values, [tail, 100 - tail])] if not np.all(np.isnan(values)) else [float("nan")] * 2
    return {"roc_auc_ci": bounds(aucs), "log_loss_ci": bounds(lls), "base_rate_log_loss_ci": bounds(base)}
