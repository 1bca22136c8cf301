"""Drift handling: a champion that scores, and a challenger trained in its shadow after a drift.

ADWIN watches the champion's per-example log loss, measured prequentially (its prediction
on an example just before it learns that example). When the loss rises significantly, a
fresh model of the same kind starts learning next to the champion. Both keep a windowed
log loss over the same examples; the challenger replaces the champion once it has learned
``min_examples`` and its windowed loss beats the champion's by ``margin``. Until then only
the champion's score is served.

A challenger that has learned ``retire_after`` examples without winning is dropped: the
champion has adapted by itself (SGD and ARF do), and keeping the twin forever would double
the cost of learning for nothing. The next drift may start another.

Lineages are derived, never drawn: the n-th challenger of base lineage ``demo`` is
``demo-c<n>`` and is seeded with ``seed + n``, so a replay of the same stream makes the
same decisions.

>>> import random
>>> from scorer.propensity.model import PropensityModel
>>> rng = random.Random(3)
>>> model = ChampionChallenger(PropensityModel("logreg", lineage="doc"))
>>> for i in range(6_000):
...     x = {"a": rng.gauss(0.0, 1.0)}
...     model.learn(x, x["a"] > 0 if i < 3_000 else x["a"] < 0)  # the concept flips at 3,000
>>> model.drifts, model.promotions, model.version, model.shadow_predict({"a": 1.0})
(1, 1, 'doc-c1.2960', None)
"""

from __future__ import annotations

import math
from typing import Any

from river import drift, stats, utils

from scorer.propensity.model import PropensityModel

__all__ = ["ChampionChallenger", "example_log_loss"]

#: Probabilities are clipped this far from 0 and 1 before the log: trees answer exactly 0
#: or 1 from a pure leaf, and one such miss would otherwise weigh 35 nats in the window.
EPSILON = 1e-6


def example_log_loss(probability: float, label: bool) -> float:
    """The log loss of one prediction, clipped so a confident miss costs at most ~13.8.

    >>> round(example_log_loss(0.9, True), 4), round(example_log_loss(0.9, False), 4), round(example_log_loss(1.0, False), 1)
    (0.1054, 2.3026, 13.8)
    """
    p = min(max(probability, EPSILON), 1.0 - EPSILON)
    return -math.log(p if label else 1.0 - p)


class _WindowedLoss:
    """Mean log loss over the last ``window`` examples."""

    def __init__(self, window: int) -> None:
        self.mean = utils.Rolling(stats.Mean, window_size=window)

    def update(self, loss: float) -> None:
        self.mean.update(loss)

    def get(self) -> float | None:
        return self.mean.get() if self.mean.window else None


class ChampionChallenger:
    """Serves a champion PropensityModel; trains and promotes a challenger after a drift.

    Has the interface the pipeline uses on PropensityModel (``name``, ``lineage``,
    ``version``, ``learned``, ``learned_positive``, ``predict``, ``learn``), all of them the
    champion's, and pickles whole (for ``snapshot.seal``).

    Parameters
    ----------
    champion
        The model that scores.
    window
        Examples in each windowed log loss.
    min_examples
        Examples a challenger must learn before it may be promoted.
    margin
        Relative improvement of the challenger's windowed loss over the champion's needed
        for promotion (0.05: at least 5% lower).
    retire_after
        Examples after which a challenger that has not won is dropped; None keeps it.
    seed
        Base seed of challengers; the n-th gets ``seed + n``.
    delta
        ADWIN's significance: lower is fewer false alarms and later detections.
    """

    def __init__(
        self,
        champion: PropensityModel,
        *,
        window: int = 1_000,
        min_examples: int = 500,
        margin: float = 0.05,
        retire_after: int | None = 20_000,
        seed: int = 42,
        delta: float = 0.002,
    ) -> None:
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin must be in [0, 1), got {margin}")
        if retire_after is not None and retire_after < min_examples:
            raise ValueError("retire_after must be at least min_examples")
        self.champion = champion
        self.challenger: PropensityModel | None = None
        self.window = window
        self.min_examples = min_examples
        self.margin = margin
        self.retire_after = retire_after
        self.seed = seed
        self.delta = delta
        self.base_lineage = champion.lineage
        self.challengers_started = 0
        self.drifts = 0
        self.promotions = 0
        self.retirements = 0
        self.detector = drift.ADWIN(delta=delta)
        self.champion_loss = _WindowedLoss(window)
        self.challenger_loss = _WindowedLoss(window)

    @property
    def name(self) -> str:
        return self.champion.name

    @property
    def classifier(self) -> Any:
        """The champion's River classifier, the one whose scores are published (for explanations)."""
        return self.champion.classifier

    @property
    def lineage(self) -> str:
        return self.champion.lineage

    @property
    def version(self) -> str:
        return self.champion.version

    @property
    def learned(self) -> int:
        return self.champion.learned

    @property
    def learned_positive(self) -> int:
        return self.champion.learned_positive

    @property
    def refused(self) -> int:
        """Learning steps refused because they would have made the champion non-finite."""
        return self.champion.refused

    @property
    def nonfinite_scores(self) -> int:
        return self.champion.nonfinite_scores

    def is_finite(self) -> bool:
        """Whether every running model is finite (a snapshot of a non-finite one is never sealed)."""
        return self.champion.is_finite() and (self.challenger is None or self.challenger.is_finite())

    def predict(self, x: dict[str, float]) -> float:
        """The champion's probability: the only one ever served."""
        return self.champion.predict(x)

    def predict_with_reasons(self, x: dict[str, float], k: int = 3) -> tuple[float, list[tuple[str, float]]]:
        return self.champion.predict_with_reasons(x, k)

    def shadow_predict(self, x: dict[str, float]) -> float | None:
        """The challenger's probability, for comparison only; None without a challenger."""
        return None if self.challenger is None else self.challenger.predict(x)

    def learn(self, x: dict[str, float], y: bool) -> None:
        """Score ``x`` with every running model, then let each learn it; maybe promote or retire."""
        loss = example_log_loss(self.champion.predict(x), y)
        self.champion_loss.update(loss)
        if self.challenger is not None:
            self.challenger_loss.update(example_log_loss(self.challenger.predict(x), y))
            self.challenger.learn(x, y)
        self.champion.learn(x, y)
        if self._loss_rose(loss):
            self.drifts += 1
            if self.challenger is None:
                self._start_challenger()
        if self.challenger is not None:
            self._judge_challenger()

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for an HTTP view."""
        return {
            "champion": {"name": self.name, "version": self.version, "learned": self.learned},
            "challenger": None if self.challenger is None else self.challenger.version,
            "drifts": self.drifts,
            "promotions": self.promotions,
            "retirements": self.retirements,
            "champion_log_loss": self.champion_loss.get(),
            "challenger_log_loss": None if self.challenger is None else self.challenger_loss.get(),
        }

    def _loss_rose(self, loss: float) -> bool:
        # ADWIN flags any change of the mean, and the loss of a model that is still
        # learning falls all the time; only a rise is a drift against the champion. On a
        # detection ADWIN drops the older part of its window, so its estimate moves to
        # the recent mean: up means the loss rose.
        before = self.detector.estimation
        self.detector.update(loss)
        return self.detector.drift_detected and self.detector.estimation > before

    def _start_challenger(self) -> None:
        self.challengers_started += 1
        n = self.challengers_started
        self.challenger = PropensityModel(self.champion.name, f"{self.base_lineage}-c{n}", seed=self.seed + n)
        # Both windows cover the same examples from here on, so they compare like with like.
        self.champion_loss = _WindowedLoss(self.window)
        self.challenger_loss = _WindowedLoss(self.window)

    def _judge_challenger(self) -> None:
        assert self.challenger is not None
        if self.challenger.learned >= self.min_examples:
            champion, challenger = self.champion_loss.get(), self.challenger_loss.get()
            if champion is not None and challenger is not None and challenger < champion * (1.0 - self.margin):
                self.champion, self.challenger = self.challenger, None
                self.champion_loss = self.challenger_loss
                self.challenger_loss = _WindowedLoss(self.window)
                # The detector's window holds the old champion's losses.
                self.detector = drift.ADWIN(delta=self.delta)
                self.promotions += 1
                return
        if self.retire_after is not None and self.challenger.learned >= self.retire_after:
            self.challenger = None
            self.challenger_loss = _WindowedLoss(self.window)
            self.retirements += 1
