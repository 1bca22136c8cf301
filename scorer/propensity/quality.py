"""Live, prequential quality of the published scores, from the labels as they resolve.

Every resolved example is ``(score published at click time, label, label delay)``:
the score is judged before the model learns its label, so these are honest
online (prequential) metrics. :class:`QualityTracker` keeps them over a sliding
window of the last ``window`` examples and cumulatively since it started.

Adding is cheap and happens once per resolved label; everything that needs a
sort, a percentile or a binning runs in :meth:`QualityTracker.report`, which a
metrics scrape calls every few seconds.

>>> tracker = QualityTracker(window=3)
>>> for score, label in [(0.9, True), (0.2, False), (0.6, True), (0.4, False)]:
...     tracker.add(score, label, delay_ms=60_000, segments={"device": "mobile"})
>>> report = tracker.report()
>>> report["window"]["count"], report["window"]["roc_auc"], report["cumulative"]["count"]
(3, 1.0, 4)
>>> report["window"]["positive_rate"], report["segments"]["device"]["mobile"]["count"]
(0.3333333333333333, 3)
>>> QualityTracker.from_state(tracker.to_state()).report() == report
True

Undefined values (an AUC with one class, anything over no examples) are NaN
inside and ``None`` in :meth:`~QualityTracker.report`, because JSON has no NaN:
exporters should skip a ``None`` gauge rather than publish 0.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import numpy as np

#: Probabilities are clipped to ``[EPS, 1 - EPS]`` in the log loss, as in :mod:`scorer.propensity.metrics`.
EPS = 1e-15
#: The bucket of a segment dimension once it has as many values as it may keep.
OTHER = "other"
#: The value of a segment dimension given as ``None``.
UNKNOWN = "unknown"
_STATE_VERSION = 1


def _auc_from_counts(positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC-AUC from label counts per distinct score, in increasing score order.

    A positive beats every negative below its score and ties half of those at it:
    the Mann-Whitney statistic with ties averaged, without a sort.
    """
    n_pos = float(positives.sum())
    n_neg = float(negatives.sum())
    if not n_pos or not n_neg:
        return math.nan
    negatives = negatives.astype(np.float64)
    below = np.cumsum(negatives) - negatives
    return float(np.dot(positives.astype(np.float64), below + negatives / 2) / (n_pos * n_neg))


def _ece(scores_by_bin: np.ndarray, positives_by_bin: np.ndarray, count: int) -> float:
    # count x |mean score - positive rate| of a bin is |score sum - positives| of the bin.
    return float(np.abs(scores_by_bin - positives_by_bin).sum() / count) if count else math.nan


def _json(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


class QualityTracker:
    """Windowed and cumulative ROC-AUC, log loss, Brier, ECE, rates and label delay.

    Parameters
    ----------
    window
        How many of the latest examples the ``window`` figures cover.
    bins
        Equal-width score bins of the expected calibration error.
    max_segment_values
        Buckets kept per segment dimension, :data:`OTHER` included: the first
        ``max_segment_values - 1`` distinct values seen keep their own bucket for
        good, every later one is folded into :data:`OTHER`. Segment values must be
        coarse (device, channel, new or returning user), never user ids.
    max_segment_dimensions
        Dimensions tracked; further dimension names are ignored.
    auc_resolution
        Score resolution of the cumulative AUC.

    Notes
    -----
    The cumulative AUC cannot keep every score, and River's ``ROCAUC`` only
    approximates over a few thresholds. Scores are counted per label in two
    dense arrays indexed by the score rounded to ``auc_resolution`` (1e-6 gives
    1,000,001 cells, 16 MB for the pair, allocated zeroed so that only the pages
    of scores actually seen take memory). Adding is one array increment,
    reporting a scan for the occupied cells (a few ms, an 8 MB temporary) and a
    cumulative sum over them, and memory never grows with traffic. The result
    is exact with ties averaged, except that scores closer than ``auc_resolution``
    count as tied: a pair tied that way moves the AUC by at most
    ``1 / (2 * positives * negatives)``. The window AUC rounds the same way so
    that the two figures agree when the window holds everything.

    Segments are reported over the window, like the ``window`` figures: a
    segment whose calibration drifts shows it within one window instead of being
    diluted by everything since start. Each example stores its folded segment
    codes, so segments cost nothing more per example than the codes. A segment
    value that has left the window is still listed, with count 0.

    Scores outside ``[0, 1]`` (or NaN) are not added, only counted in
    ``rejected``; a negative delay (a label timestamped before its click) counts
    as 0.
    """

    def __init__(
        self,
        window: int = 5_000,
        bins: int = 10,
        max_segment_values: int = 16,
        max_segment_dimensions: int = 8,
        auc_resolution: float = 1e-6,
    ) -> None:
        if window < 1 or bins < 1 or max_segment_values < 1 or max_segment_dimensions < 0:
            raise ValueError("window, bins and max_segment_values must be at least 1")
        if not 0.0 < auc_resolution <= 1.0:
            raise ValueError("auc_resolution must be in (0, 1]")
        self.window = window
        self.bins = bins
        self.max_segment_values = max_segment_values
        self.max_segment_dimensions = max_segment_dimensions
        self.auc_resolution = auc_resolution
        self._auc_scale = 1.0 / auc_resolution
        self.rejected = 0
        self._scores: deque[float] = deque(maxlen=window)
        self._labels: deque[int] = deque(maxlen=window)
        self._delays: deque[int] = deque(maxlen=window)
        self._codes: deque[tuple[int, ...]] = deque(maxlen=window)
        self._count = 0
        self._positives = 0
        self._score_sum = 0.0
        self._log_loss_sum = 0.0
        self._brier_sum = 0.0
        self._delay_sum = 0
        self._bin_scores = [0.0] * bins
        self._bin_positives = [0] * bins
        cells = int(round(self._auc_scale)) + 1
        self._auc_positives = np.zeros(cells, dtype=np.int64)
        self._auc_negatives = np.zeros(cells, dtype=np.int64)
        self._dimensions: dict[str, int] = {}
        self._values: list[dict[str, int]] = []

    # -- adding ---------------------------------------------------------------

    def add(self, score: float, label: bool, delay_ms: int, segments: Mapping[str, str | None] | None = None) -> None:
        """Count one resolved example: the published ``score`` and what happened."""
        if not 0.0 <= score <= 1.0:
            self.rejected += 1
            return
        y = 1 if label else 0
        delay = delay_ms if delay_ms > 0 else 0
        self._scores.append(score)
        self._labels.append(y)
        self._delays.append(delay)
        self._codes.append(self._encode(segments) if segments else ())
        self._count += 1
        self._positives += y
        self._score_sum += score
        self._delay_sum += delay
        p = EPS if score < EPS else 1.0 - EPS if score > 1.0 - EPS else score
        self._log_loss_sum -= math.log(p) if y else math.log(1.0 - p)
        self._brier_sum += (score - y) ** 2
        b = int(score * self.bins)
        if b >= self.bins:
            b = self.bins - 1
        self._bin_scores[b] += score
        self._bin_positives[b] += y
        cell = int(score * self._auc_scale + 0.5)
        if y:
            self._auc_positives[cell] += 1
        else:
            self._auc_negatives[cell] += 1

    def _encode(self, segments: Mapping[str, str | None]) -> tuple[int, ...]:
        """Bucket codes per dimension index, -1 where the example has no value."""
        codes = [-1] * len(self._dimensions)
        for dimension, value in segments.items():
            index = self._dimensions.get(dimension)
            if index is None:
                if len(self._dimensions) >= self.max_segment_dimensions:
                    continue
                index = self._dimensions[dimension] = len(self._values)
                self._values.append({})
                codes.append(-1)
            values = self._values[index]
            value = UNKNOWN if value is None else value
            code = values.get(value)
            if code is None:
                if value != OTHER and len(values) < self.max_segment_values - 1:
                    code = values[value] = len(values)
                else:
                    code = values.get(OTHER)
                    if code is None:
                        code = values[OTHER] = len(values)
            codes[index] = code
        return tuple(codes)

    # -- reporting ------------------------------------------------------------

    def report(self) -> dict:
        """Every figure, JSON-ready, ``None`` where undefined.

        ``{"window": {...}, "cumulative": {...}, "segments": {dimension: {value: {...}}},
        "rejected": int}``. ``window`` and ``cumulative`` hold ``count``,
        ``positive_rate``, ``mean_score``, ``roc_auc``, ``log_loss``, ``brier``,
        ``ece`` and ``delay_ms_mean``; ``window`` adds ``delay_ms_p50`` and
        ``delay_ms_p95``. A segment holds ``count``, ``mean_score``,
        ``positive_rate``, ``calibration_gap`` (mean score minus positive rate:
        positive means over-confident) and ``ece``, over the window.
        """
        scores = np.fromiter(self._scores, dtype=np.float64, count=len(self._scores))
        labels = np.fromiter(self._labels, dtype=np.int64, count=len(self._labels))
        delays = np.fromiter(self._delays, dtype=np.float64, count=len(self._delays))
        bin_index = np.minimum((scores * self.bins).astype(np.int64), self.bins - 1)
        return {
            "window": self._window_report(scores, labels, delays, bin_index),
            "cumulative": self._cumulative_report(),
            "segments": self._segment_report(scores, labels, bin_index),
            "rejected": self.rejected,
        }

    def _window_report(self, scores: np.ndarray, labels: np.ndarray, delays: np.ndarray, bin_index: np.ndarray) -> dict:
        n = len(scores)
        if not n:
            return {"count": 0} | dict.fromkeys(
                ("positive_rate", "mean_score", "roc_auc", "log_loss", "brier", "ece")
                + ("delay_ms_mean", "delay_ms_p50", "delay_ms_p95")
            )
        cells, inverse = np.unique(np.floor(scores * self._auc_scale + 0.5), return_inverse=True)
        positives = np.bincount(inverse, weights=labels, minlength=len(cells))
        totals = np.bincount(inverse, minlength=len(cells))
        clipped = np.clip(scores, EPS, 1.0 - EPS)
        log_loss = -np.where(labels == 1, np.log(clipped), np.log(1.0 - clipped)).mean()
        p50, p95 = np.percentile(delays, [50, 95])
        return {
            "count": n,
            "positive_rate": float(labels.mean()),
            "mean_score": float(scores.mean()),
            "roc_auc": _json(_auc_from_counts(positives, totals - positives)),
            "log_loss": float(log_loss),
            "brier": float(((scores - labels) ** 2).mean()),
            "ece": _ece(
                np.bincount(bin_index, weights=scores, minlength=self.bins),
                np.bincount(bin_index, weights=labels, minlength=self.bins),
                n,
            ),
            "delay_ms_mean": float(delays.mean()),
            "delay_ms_p50": float(p50),
            "delay_ms_p95": float(p95),
        }

    def _cumulative_report(self) -> dict:
        n = self._count
        if not n:
            return {"count": 0} | dict.fromkeys(
                ("positive_rate", "mean_score", "roc_auc", "log_loss", "brier", "ece", "delay_ms_mean")
            )
        # The few occupied cells first: the sums over a million mostly empty ones cost ten times more.
        cells = self._occupied_cells()
        return {
            "count": n,
            "positive_rate": self._positives / n,
            "mean_score": self._score_sum / n,
            "roc_auc": _json(_auc_from_counts(self._auc_positives[cells], self._auc_negatives[cells])),
            "log_loss": self._log_loss_sum / n,
            "brier": self._brier_sum / n,
            "ece": _ece(np.array(self._bin_scores), np.array(self._bin_positives, dtype=np.float64), n),
            "delay_ms_mean": self._delay_sum / n,
        }

    def _occupied_cells(self) -> np.ndarray:
        return np.flatnonzero(self._auc_positives | self._auc_negatives)

    def _segment_report(self, scores: np.ndarray, labels: np.ndarray, bin_index: np.ndarray) -> dict:
        width = len(self._dimensions)
        if not width:
            return {}
        rows = [codes + (-1,) * (width - len(codes)) for codes in self._codes]
        matrix = np.array(rows, dtype=np.int64).reshape(len(rows), width)
        out: dict[str, dict[str, dict]] = {}
        for dimension, index in self._dimensions.items():
            values = self._values[index]
            column = matrix[:, index]
            present = column >= 0
            code, y, p, b = column[present], labels[present], scores[present], bin_index[present]
            size = len(values)
            counts = np.bincount(code, minlength=size)
            score_sums = np.bincount(code, weights=p, minlength=size)
            positive_sums = np.bincount(code, weights=y, minlength=size)
            cell = code * self.bins + b
            bin_scores = np.bincount(cell, weights=p, minlength=size * self.bins).reshape(size, self.bins)
            bin_positives = np.bincount(cell, weights=y, minlength=size * self.bins).reshape(size, self.bins)
            out[dimension] = {}
            for value, i in values.items():
                n = int(counts[i])
                mean = score_sums[i] / n if n else math.nan
                rate = positive_sums[i] / n if n else math.nan
                out[dimension][value] = {
                    "count": n,
                    "mean_score": _json(mean),
                    "positive_rate": _json(rate),
                    "calibration_gap": _json(mean - rate),
                    "ece": _json(_ece(bin_scores[i], bin_positives[i], n)),
                }
        return out

    # -- state ----------------------------------------------------------------

    def to_state(self) -> dict:
        """Everything as plain JSON types (no NaN), to ride along in a model snapshot."""
        cells = self._occupied_cells()
        return {
            "version": _STATE_VERSION,
            "window": self.window,
            "bins": self.bins,
            "max_segment_values": self.max_segment_values,
            "max_segment_dimensions": self.max_segment_dimensions,
            "auc_resolution": self.auc_resolution,
            "rejected": self.rejected,
            "recent": {
                "scores": list(self._scores),
                "labels": list(self._labels),
                "delays_ms": list(self._delays),
                "segments": [list(codes) for codes in self._codes],
            },
            "cumulative": {
                "count": self._count,
                "positives": self._positives,
                "score_sum": self._score_sum,
                "log_loss_sum": self._log_loss_sum,
                "brier_sum": self._brier_sum,
                "delay_ms_sum": self._delay_sum,
                "bin_scores": list(self._bin_scores),
                "bin_positives": list(self._bin_positives),
                "auc_cells": cells.tolist(),
                "auc_positives": self._auc_positives[cells].tolist(),
                "auc_negatives": self._auc_negatives[cells].tolist(),
            },
            # Pairs, not an object: a dimension's position is its index in every example's codes.
            "segments": [[dimension, self._values[i]] for dimension, i in self._dimensions.items()],
        }

    @classmethod
    def from_state(cls, state: Mapping, window: int | None = None) -> QualityTracker:
        """The tracker :meth:`to_state` saved; ``window`` resizes it, keeping the latest examples."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported quality state version {state.get('version')!r}")
        tracker = cls(
            window=state["window"] if window is None else window,
            bins=state["bins"],
            max_segment_values=state["max_segment_values"],
            max_segment_dimensions=state["max_segment_dimensions"],
            auc_resolution=state["auc_resolution"],
        )
        tracker.rejected = state["rejected"]
        recent = state["recent"]
        tracker._scores.extend(recent["scores"])
        tracker._labels.extend(recent["labels"])
        tracker._delays.extend(recent["delays_ms"])
        tracker._codes.extend(tuple(codes) for codes in recent["segments"])
        cumulative = state["cumulative"]
        tracker._count = cumulative["count"]
        tracker._positives = cumulative["positives"]
        tracker._score_sum = cumulative["score_sum"]
        tracker._log_loss_sum = cumulative["log_loss_sum"]
        tracker._brier_sum = cumulative["brier_sum"]
        tracker._delay_sum = cumulative["delay_ms_sum"]
        tracker._bin_scores = list(cumulative["bin_scores"])
        tracker._bin_positives = list(cumulative["bin_positives"])
        cells = np.asarray(cumulative["auc_cells"], dtype=np.int64)
        tracker._auc_positives[cells] = cumulative["auc_positives"]
        tracker._auc_negatives[cells] = cumulative["auc_negatives"]
        for dimension, values in state["segments"]:
            tracker._dimensions[dimension] = len(tracker._values)
            tracker._values.append(dict(values))
        return tracker
