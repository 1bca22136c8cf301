"""Exact binary-classification metrics over whole samples.

River's ``ROCAUC`` approximates over a few thresholds; these are exact.

>>> labels = [True, False, True, False]
>>> scores = [0.9, 0.1, 0.4, 0.5]
>>> roc_auc(labels, scores)
0.75
>>> round(average_precision(labels, scores), 4)
0.8333
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_EPS = 1e-15


def _arrays(labels: Sequence[bool], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(scores, dtype=float)
    if y.shape != p.shape:
        raise ValueError("labels and scores differ in length")
    return y, p


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Exact ROC-AUC: the chance a random positive outscores a random negative (ties count half)."""
    y, p = _arrays(labels, scores)
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    sorted_p = p[order]
    ranks = np.empty(len(p))
    # Average ranks over ties.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_p)) + 1]
    ends = np.r_[starts[1:], len(p)]
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """PR-AUC as average precision: mean precision at the rank of each positive."""
    y, p = _arrays(labels, scores)
    if not y.any():
        return float("nan")
    order = np.argsort(-p, kind="mergesort")
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def log_loss(labels: Sequence[bool], scores: Sequence[float]) -> float:
    y, p = _arrays(labels, scores)
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(np.where(y, np.log(p), np.log(1 - p))))


def brier(labels: Sequence[bool], scores: Sequence[float]) -> float:
    y, p = _arrays(labels, scores)
    return float(np.mean((p - y) ** 2))


def calibration_bins(labels: Sequence[bool], scores: Sequence[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """``(mean score, positive rate, count)`` per equal-width score bin, empty bins left out."""
    y, p = _arrays(labels, scores)
    index = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            out.append((float(p[mask].mean()), float(y[mask].mean()), int(mask.sum())))
    return out


def expected_calibration_error(labels: Sequence[bool], scores: Sequence[float], bins: int = 10) -> float:
    """Count-weighted mean gap between mean score and positive rate over score bins."""
    total = len(labels)
    if not total:
        return float("nan")
    return sum(count * abs(mean - rate) for mean, rate, count in calibration_bins(labels, scores, bins)) / total


def base_rate_entropy(rate: float) -> float:
    """Log loss of always predicting the base rate: the bar a useful model must beat."""
    rate = min(max(rate, _EPS), 1 - _EPS)
    return float(-(rate * np.log(rate) + (1 - rate) * np.log(1 - rate)))


def propensity_report(labels: Sequence[bool], scores: Sequence[float]) -> dict[str, float]:
    """Every propensity metric the evaluation reports, rates as fractions."""
    y, _ = _arrays(labels, scores)
    rate = float(y.mean()) if len(y) else float("nan")
    return {
        "roc_auc": roc_auc(labels, scores),
        "pr_auc": average_precision(labels, scores),
        "log_loss": log_loss(labels, scores) if len(y) else float("nan"),
        "brier": brier(labels, scores) if len(y) else float("nan"),
        "ece": expected_calibration_error(labels, scores),
        "base_rate": rate,
        "base_rate_log_loss": base_rate_entropy(rate) if len(y) else float("nan"),
        "examples": len(y),
    }
