"""PNG charts of an offline evaluation, for a marketing analyst rather than a statistician.

Each chart says in its title what question it answers, in plain words:

- ``gains.png``: if we contact the top x % of clicks by score, what share of all buyers do we
  reach (cumulative gains), and how many times better than contacting at random (lift);
- ``calibration.png``: when the model says 10 %, do 10 % buy? Bins hold equal numbers of
  clicks (quantiles), so each point rests on as many clicks as the next, where equal-width
  bins put nearly every click in the first one;
- ``roc.png``, ``score_histogram.png``, ``metrics_over_time.png``: ranking quality, the spread
  of scores, and whether quality holds over time.

An evaluation that scored no click writes no chart at all: charts of nothing would be
empty frames titled "AUC nan".
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scorer.propensity import roc_auc  # noqa: E402


def _roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="mergesort")
    hits = labels[order]
    tpr = np.r_[0.0, np.cumsum(hits) / max(hits.sum(), 1)]
    fpr = np.r_[0.0, np.cumsum(~hits) / max((~hits).sum(), 1)]
    return fpr, tpr


def cumulative_gains(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of clicks contacted, share of buyers reached), best scores first, from (0, 0).

    >>> x, g = cumulative_gains(np.array([True, False, True, False]), np.array([0.9, 0.8, 0.7, 0.1]))
    >>> x.tolist(), g.tolist()
    ([0.0, 0.25, 0.5, 0.75, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    order = np.argsort(-scores, kind="mergesort")
    hits = labels[order].astype(float)
    reached = np.r_[0.0, np.cumsum(hits) / max(hits.sum(), 1.0)]
    contacted = np.arange(len(hits) + 1) / max(len(hits), 1)
    return contacted, reached


def quantile_calibration(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """``(mean score, purchase rate, clicks)`` per bin of equal click counts, lowest scores first.

    >>> y = np.array([False, False, True, False, True, True])
    >>> quantile_calibration(y, np.array([0.1, 0.2, 0.3, 0.4, 0.8, 0.9]), bins=3)
    [(0.15000000000000002, 0.0, 2), (0.35, 0.5, 2), (0.8500000000000001, 1.0, 2)]
    """
    order = np.argsort(scores, kind="mergesort")
    out = []
    for chunk in np.array_split(order, min(bins, len(order))):
        if len(chunk):
            out.append((float(scores[chunk].mean()), float(labels[chunk].mean()), int(len(chunk))))
    return out


def write_plots(directory: Path, labels: list[bool], scores: list[float], times: list[int], title: str) -> list[Path]:
    """Write the gains/lift, calibration, ROC, score histogram and over-time charts; returns their paths.

    Writes nothing, and returns ``[]``, when no click was scored.
    """
    if not labels:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    y = np.asarray(labels, dtype=bool)
    p = np.asarray(scores, dtype=float)
    t = (np.asarray(times, dtype=float) - (times[0] if times else 0)) / 3_600_000
    clicks = f"{len(y):,} clicks, {int(y.sum()):,} followed by a purchase"
    written = []

    fig, (gains_ax, lift_ax) = plt.subplots(1, 2, figsize=(10, 4.5))
    contacted, reached = cumulative_gains(y, p)
    gains_ax.plot(contacted * 100, reached * 100, label="by propensity score")
    gains_ax.plot([0, 100], [0, 100], "--", color="grey", label="at random")
    gains_ax.set(
        xlabel="clicks contacted, best scores first (%)",
        ylabel="buyers reached (%)",
        title="Buyers reached by contacting the top x % of clicks",
    )
    gains_ax.legend(loc="lower right")
    deciles = np.arange(1, 11) / 10
    at = np.minimum((deciles * len(y)).astype(int), len(y))
    lift = [reached[k] / (k / len(y)) if k else float("nan") for k in at]
    lift_ax.bar(deciles * 100, lift, width=8, label="lift")
    lift_ax.axhline(1.0, linestyle="--", color="grey", label="at random (1x)")
    lift_ax.set(
        xlabel="top x % of clicks by score",
        ylabel="times more buyers than at random",
        title="How much better than contacting at random",
    )
    lift_ax.legend(loc="upper right")
    fig.suptitle(f"{title} ({clicks})", fontsize=9)
    written.append(_save(fig, directory / "gains.png"))

    fig, ax = plt.subplots(figsize=(5.5, 5))
    bins = quantile_calibration(y, p, bins=10)
    top = max(max(b[0] for b in bins), max(b[1] for b in bins), 1e-3) * 1.1
    ax.plot([0, top], [0, top], "--", color="grey", label="score = what happened")
    ax.plot([b[0] for b in bins], [b[1] for b in bins], "o-", label="model, 10 bins of equal clicks")
    ax.set(
        xlabel="predicted chance of a purchase (mean score of the bin)",
        ylabel="share of those clicks followed by a purchase",
        title="When the model says x %, do x % buy?",
        xlim=(0, top),
        ylim=(0, top),
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"{title} ({clicks})", fontsize=9)
    written.append(_save(fig, directory / "calibration.png"))

    fig, ax = plt.subplots(figsize=(5, 5))
    fpr, tpr = _roc_curve(y, p)
    ax.plot(fpr, tpr, label=f"model (ROC-AUC {roc_auc(y, p):.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="at random (0.5)")
    ax.set(
        xlabel="share of non-buyers' clicks flagged",
        ylabel="share of buyers' clicks flagged",
        title="How well scores rank buyers above non-buyers",
    )
    ax.legend(loc="lower right")
    fig.suptitle(title, fontsize=9)
    written.append(_save(fig, directory / "roc.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist([p[~y], p[y]], bins=40, range=(0, 1), label=["no purchase", "purchase"], stacked=True, log=True)
    ax.set(xlabel="propensity score", ylabel="clicks (log scale)", title="How scores spread, for buyers and non-buyers")
    ax.legend()
    fig.suptitle(title, fontsize=9)
    written.append(_save(fig, directory / "score_histogram.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    edges = np.linspace(t.min(), t.max() + 1e-9, 21)
    centres, aucs, rates, means = [], [], [], []
    for lo, hi in zip(edges, edges[1:]):
        mask = (t >= lo) & (t < hi)
        if mask.sum() >= 20:
            centres.append((lo + hi) / 2)
            aucs.append(roc_auc(y[mask], p[mask]))
            rates.append(y[mask].mean())
            means.append(p[mask].mean())
    ax.plot(centres, aucs, "o-", label="ranking quality (ROC-AUC)")
    ax.plot(centres, means, "s-", label="mean score")
    ax.plot(centres, rates, "^-", label="purchase rate")
    ax.set(xlabel="hours since the first counted click", ylim=(0, 1), title="Does quality hold over time?")
    ax.legend()
    fig.suptitle(title, fontsize=9)
    written.append(_save(fig, directory / "metrics_over_time.png"))
    return written


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
