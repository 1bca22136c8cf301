"""Customer lifetime value kept current at every purchase: the per-user model the engine runs.

Each customer's :class:`~scorer.clv.history.PurchaseHistory` lives in their record
(under ``"clv"``); the population parameters (BG/NBD for purchases, Gamma-Gamma for
spend) live here, in one object per worker, refitted by maximum likelihood over a
bounded :class:`~scorer.clv.sample.FitSample` of customers every ``refit_every_ms``
of event time (a day by default). At each purchase the customer's expected purchases
and spend over the horizon and their probability of being alive are computed from
the current parameters and published. Clicks change nothing and cost one
``isinstance`` check.

Each purchase yields the customer's :class:`~scorer.clv.sample.CustomerSummary`,
handed to :attr:`LifetimeValue.on_summary`: by default it goes straight into this
object's sample (:meth:`LifetimeValue.learn_summary`). With several workers the
worker points it at a shared log instead, and every worker learns every summary
from that log in one order, so all hold the same sample and, because refits are
scheduled by the summaries' own event time, the same parameters under the same
version. :meth:`to_state` and :meth:`load_state` carry sample and parameters
through the model snapshot.

>>> from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem
>>> model = LifetimeValue(horizon_days=365)
>>> def order(event_id, day, value):
...     return PurchaseEvent(event_id, "u1", day * DAY_MS, f"o-{event_id}", (PurchaseItem("cd", value),))
>>> fields, value = model.observe(None, order("p1", 10_000, 12.0), None)
>>> fields, value = model.observe(fields, order("p2", 10_030, 20.0), None)
>>> value.purchases, value.expected_purchases > 0, 0 < value.p_alive <= 1
(2, True, True)
>>> model.observe(fields, ClickEvent("c1", "u1", 10_031 * DAY_MS, "page_view"), None) == (fields, None)
True
>>> model.describe(fields)["purchases"]
2
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from scorer.clv.bgnbd import PRIOR as BGNBD_PRIOR
from scorer.clv.bgnbd import BgNbdParams, expected_purchases, fit_bgnbd, p_alive
from scorer.clv.gamma_gamma import PRIOR as SPEND_PRIOR
from scorer.clv.gamma_gamma import GammaGammaParams, expected_spend, fit_gamma_gamma
from scorer.clv.history import DAY_MS, PurchaseHistory
from scorer.clv.mle import BOUND
from scorer.clv.sample import CustomerSummary, FitSample, user_hash
from scorer.events import CustomerValue, PurchaseEvent

__all__ = ["LifetimeValue"]


def _inside(*values: float) -> bool:
    """True when every fitted parameter is finite and clear of the optimiser's bounds."""
    return all(math.isfinite(v) and abs(math.log(v)) < BOUND - 1 for v in values)


class LifetimeValue:
    """BG/NBD and Gamma-Gamma over each customer's purchases, parameters learned online."""

    name = "clv"

    def __init__(
        self,
        horizon_days: int = 365,
        sample_size: int = 20_000,
        refit_every_ms: int = DAY_MS,
        min_customers: int = 100,
        lineage: str = "clv",
    ) -> None:
        self.horizon_days = horizon_days
        self.horizon_weeks = horizon_days / 7.0
        self.sample = FitSample(sample_size)
        self.refit_every_ms = refit_every_ms
        self.min_customers = min_customers
        self.lineage = lineage
        self.params: BgNbdParams = BGNBD_PRIOR
        self.spend: GammaGammaParams = SPEND_PRIOR
        self.refits = 0
        #: Event time (ms) the next refit is due at; set by the first purchase.
        self.next_refit_ms: int | None = None
        self.refitted_at_ms = 0
        #: Where each purchase's summary goes (an erasure too, as :meth:`CustomerSummary.erasure`).
        self.on_summary: Callable[[CustomerSummary], None] = self.learn_summary

    @property
    def version(self) -> str:
        return f"{self.lineage}.{self.refits}"

    def observe(self, fields: Any, event: Any, state: Any) -> tuple[Any, CustomerValue | None]:
        if not isinstance(event, PurchaseEvent):
            return fields, None
        history = PurchaseHistory.from_fields(fields) if fields else PurchaseHistory()
        period = event.ts // DAY_MS
        history.add(period, event.revenue)
        x, _, _, mean = history.summary(period)
        self.on_summary(CustomerSummary(user_hash(event.user_id), history.first, history.last, x, mean, event.ts))
        forecast = self.forecast(history, event.ts)
        value = CustomerValue(
            event.user_id, *forecast, self.horizon_days, x + 1, self.version, event.event_id, event.ts
        )
        return history.to_fields(), value

    def learn_summary(self, summary: CustomerSummary) -> None:
        """Take one customer's summary into the sample (or out of it), then refit if one is due."""
        if summary.erased:
            self.sample.forget_hash(summary.user)
            return
        self.sample.offer_hash(summary.user, summary.first, summary.last, summary.x, summary.mean)
        self._maybe_refit(summary.ts)

    def forecast(self, history: PurchaseHistory, now_ms: int) -> tuple[float, float, float]:
        """Expected purchases and spend over the horizon, and P(alive), as of ``now_ms``."""
        x, t_x, T, mean = history.summary(now_ms // DAY_MS)
        purchases = expected_purchases(self.params, x, t_x, T, self.horizon_weeks)
        return purchases, purchases * expected_spend(self.spend, x, mean), p_alive(self.params, x, t_x, T)

    def refit(self, now_ms: int) -> None:
        """Maximum likelihood over the sample, from the current parameters, at event time ``now_ms``."""
        x, t_x, T, mean = self.sample.arrays(now_ms // DAY_MS)
        params = fit_bgnbd(x, t_x, T, start=self.params)
        # A fit on the bounds (too few customers to tell) would forecast nothing sensible: keep the last one.
        if _inside(params.r, params.alpha, params.a, params.b) and params.a != 1.0:
            self.params = params
        # Too few repeat buyers can put q at or below 1, where the population mean spend is undefined.
        spend = fit_gamma_gamma(x, mean, start=self.spend)
        if (x > 0).sum() >= self.min_customers // 10 and spend.q > 1 and _inside(spend.p, spend.q, spend.v):
            self.spend = spend
        self.refits += 1
        self.refitted_at_ms = now_ms
        self.sample.changed = False

    def _maybe_refit(self, ts: int) -> None:
        due = self.next_refit_ms
        if due is None:
            self.next_refit_ms = ts + self.refit_every_ms
        elif ts >= due and self.sample.changed and len(self.sample) >= self.min_customers:
            self.refit(ts)
            self.next_refit_ms = ts + self.refit_every_ms

    def forget_user(self, user_id: str) -> None:
        # Through on_summary, so that a shared sample forgets the customer on every worker.
        self.on_summary(CustomerSummary.erasure(user_hash(user_id), self.refitted_at_ms))

    def to_state(self) -> dict:
        """Sample, parameters and schedule as JSON-ready data, for the model snapshot."""
        return {
            "sample": self.sample.to_state(),
            "bgnbd": self.params.as_dict(),
            "gamma_gamma": self.spend.as_dict(),
            "refits": self.refits,
            "next_refit_ms": self.next_refit_ms,
            "refitted_at_ms": self.refitted_at_ms,
        }

    def load_state(self, state: dict) -> None:
        """Continue from :meth:`to_state`'s output (the lineage and settings stay this object's)."""
        self.sample = FitSample.from_state(state["sample"])
        self.params = BgNbdParams(**state["bgnbd"])
        self.spend = GammaGammaParams(**state["gamma_gamma"])
        self.refits = int(state["refits"])
        self.next_refit_ms = state["next_refit_ms"]
        self.refitted_at_ms = int(state["refitted_at_ms"])

    def describe(self, fields: Any) -> dict:
        history = PurchaseHistory.from_fields(fields)
        x, t_x, T, mean = history.summary(history.last)
        purchases, spend, alive = self.forecast(history, history.last * DAY_MS)
        return {
            "purchases": x + 1,
            "first_purchase_day": history.first * DAY_MS,
            "last_purchase_day": history.last * DAY_MS,
            "mean_repeat_value": mean,
            "as_of_last_purchase": {
                "expected_purchases": purchases,
                "expected_spend": spend,
                "p_alive": alive,
                "horizon_days": self.horizon_days,
            },
            "model_version": self.version,
        }

    def parameters(self) -> dict:
        """The fitted population parameters, for ``/models`` and snapshots."""
        return {
            "bgnbd": self.params.as_dict(),
            "gamma_gamma": self.spend.as_dict(),
            "refits": self.refits,
            "version": self.version,
            "refitted_at": self.refitted_at_ms,
            "sample": len(self.sample),
        }
