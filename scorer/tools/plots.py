"""PNG charts of an offline evaluation, for people who would rather look than read."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scorer.propensity import calibration_bins, roc_auc  # noqa: E402


def _roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="mergesort")
    hits = labels[order]
    tpr = np.r_[0.0, np.cumsum(hits) / max(hits.sum(), 1)]
    fpr = np.r_[0.0, np.cumsum(~hits) / max((~hits).sum(), 1)]
    return fpr, tpr


def write_plots(directory: Path, labels: list[bool], scores: list[float], times: list[int], title: str) -> list[Path]:
    """Write ROC, calibration, score histogram and metrics-over-time charts; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(scores, dtype=float)
    t = (np.asarray(times, dtype=float) - (times[0] if times else 0)) / 3_600_000
    written = []

    fig, ax = plt.subplots(figsize=(5, 5))
    fpr, tpr = _roc_curve(y, p)
    ax.plot(fpr, tpr, label=f"model (AUC {roc_auc(y, p):.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC - {title}")
    ax.legend(loc="lower right")
    written.append(_save(fig, directory / "roc.png"))

    fig, ax = plt.subplots(figsize=(5, 5))
    bins = calibration_bins(y, p, bins=10)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot([b[0] for b in bins], [b[1] for b in bins], "o-", label="model")
    for mean, rate, count in bins:
        ax.annotate(str(count), (mean, rate), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set(xlabel="mean predicted probability", ylabel="observed purchase rate", title=f"Calibration - {title}")
    ax.legend(loc="upper left")
    written.append(_save(fig, directory / "calibration.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist([p[~y], p[y]], bins=40, range=(0, 1), label=["no purchase", "purchase"], stacked=True, log=True)
    ax.set(xlabel="propensity score", ylabel="clicks (log scale)", title=f"Scores - {title}")
    ax.legend()
    written.append(_save(fig, directory / "score_histogram.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    if len(t):
        edges = np.linspace(t.min(), t.max() + 1e-9, 21)
        centres, aucs, rates, means = [], [], [], []
        for lo, hi in zip(edges, edges[1:]):
            mask = (t >= lo) & (t < hi)
            if mask.sum() >= 20:
                centres.append((lo + hi) / 2)
                aucs.append(roc_auc(y[mask], p[mask]))
                rates.append(y[mask].mean())
                means.append(p[mask].mean())
        ax.plot(centres, aucs, "o-", label="ROC-AUC")
        ax.plot(centres, means, "s-", label="mean score")
        ax.plot(centres, rates, "^-", label="purchase rate")
    ax.set(xlabel="hours since first counted click", ylim=(0, 1), title=f"Over time - {title}")
    ax.legend()
    written.append(_save(fig, directory / "metrics_over_time.png"))
    return written


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
