"""RFM: recency, frequency and monetary scores 1-5 from quantiles learned online, and their names.

Each score places a user's value among the quintiles of the values seen so far
(River's P² streaming quantiles at 20, 40, 60 and 80 %), so the scores follow
the shop's own distribution without a batch pass. Recency is the time since the
user's purchase *before* the update being scored: on a purchase, the gap that
purchase closed; on a new session, the time since they last bought. A short gap
scores 5, as do many orders and a high spend.

>>> rfm = RfmQuantiles()
>>> for days in range(1, 101):
...     rfm.learn(float(days), float(days % 10 + 1), 10.0 * days)
>>> rfm.scores(2.0, 10.0, 990.0)
(5, 5, 5)
>>> rfm.scores(95.0, 1.0, 30.0)
(1, 1, 1)
>>> name_of(5, 5, 5, orders=7), name_of(1, 4, 2, orders=7), name_of(3, 1, 1, orders=0)
('champions', 'at_risk', 'prospects')
"""

from __future__ import annotations

import base64
from typing import Any

from river import stats

__all__ = ["RFM_SEGMENTS", "RfmQuantiles", "name_of"]

_CUTS = (0.2, 0.4, 0.6, 0.8)

#: Every name :func:`name_of` gives, in the order the README's table lists them.
RFM_SEGMENTS = (
    "champions",
    "loyal",
    "promising",
    "need_attention",
    "at_risk",
    "hibernating",
    "new",
    "prospects",
)


class RfmQuantiles:
    """Streaming quintiles of recency (days), frequency (orders) and monetary value (total spend)."""

    def __init__(self) -> None:
        self._quantiles = [[stats.Quantile(q) for q in _CUTS] for _ in range(3)]
        self.learned = 0

    def learn(self, recency_days: float, orders: float, monetary: float) -> None:
        """Fold one user update in."""
        for quantiles, value in zip(self._quantiles, (recency_days, orders, monetary)):
            for quantile in quantiles:
                quantile.update(value)
        self.learned += 1

    def to_state(self) -> dict[str, Any]:
        """The P² estimators' markers (River's own bytes, base64) as JSON-ready data; ``None`` for one never updated.

        The bytes are River's layout of the estimator: the model snapshot already refuses
        a snapshot written under another River version.
        """
        return {
            "learned": self.learned,
            "quantiles": [
                [base64.b64encode(q._quantile.__getstate__()).decode() if q._is_updated else None for q in quantiles]
                for quantiles in self._quantiles
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`to_state`'s output."""
        fresh = [[stats.Quantile(q) for q in _CUTS] for _ in range(3)]
        for quantiles, saved in zip(fresh, state["quantiles"]):
            for quantile, markers in zip(quantiles, saved):
                if markers is not None:
                    quantile._quantile.__setstate__(base64.b64decode(markers))
                    quantile._is_updated = True
        self._quantiles = fresh
        self.learned = int(state["learned"])

    def cuts(self) -> list[list[float]]:
        """The current cut points: ``[recency, frequency, monetary]``, each four quintile edges."""
        return [[q.get() or 0.0 for q in quantiles] for quantiles in self._quantiles]

    def scores(self, recency_days: float, orders: float, monetary: float) -> tuple[int, int, int]:
        """``(r, f, m)``, each 1-5; a shorter recency scores higher, more orders and spend score higher."""
        (r_cuts, f_cuts, m_cuts) = self.cuts()
        r = 5 - sum(recency_days > cut for cut in r_cuts)
        f = 1 + sum(orders > cut for cut in f_cuts)
        m = 1 + sum(monetary > cut for cut in m_cuts)
        return r, f, m


def name_of(r: int, f: int, m: int, orders: int) -> str:
    """The named segment of RFM scores; users with no purchase are prospects, one purchase new.

    Frequency and spend are read together (their rounded mean), as most RFM grids do:
    a rare big spender ranks with a frequent small one.
    """
    if orders == 0:
        return "prospects"
    if orders == 1:
        return "new"
    value = (f + m + 1) // 2
    if r >= 4 and value >= 4:
        return "champions"
    if r >= 3 and value >= 3:
        return "loyal"
    if r >= 4:
        return "promising"
    if r <= 2 and value >= 3:
        return "at_risk"
    if r <= 2:
        return "hibernating"
    return "need_attention"
