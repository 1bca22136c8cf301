"""Calibration and holdout: the buy-till-you-die benchmark, replayed through the online model.

Purchases up to the end of the calibration day go through :class:`LifetimeValue`
one by one, in event time, exactly as the worker feeds it: the parameters it holds
at the end are learned online from the calibration period only. Each customer who
bought in the calibration period is then forecast at its end for the holdout's
length, and compared with what they really did in the holdout: repeat purchase days
(MAE, RMSE, correlation, totals) and spend. Customers first seen in the holdout are
left out, as in the BG/NBD paper.

>>> from scorer.events import PurchaseEvent, PurchaseItem
>>> orders = [PurchaseEvent(f"e{i}", f"u{i % 3}", (i * 5) * DAY_MS, f"o{i}", (PurchaseItem("cd", 10.0),)) for i in range(12)]
>>> split = ClvSplit.replay(orders, calibration_end_day=30, holdout_days=30, model=LifetimeValue(min_customers=1))
>>> len(split.x), int(split.actual.sum())
(3, 5)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from scorer.clv.bgnbd import expected_purchases, fit_bgnbd
from scorer.clv.gamma_gamma import expected_spend, fit_gamma_gamma
from scorer.clv.history import DAY_MS, PurchaseHistory
from scorer.clv.model import LifetimeValue
from scorer.events import PurchaseEvent

__all__ = ["ClvSplit", "evaluate_clv"]

#: Calibration customers are grouped by repeat purchases up to this many (and more), as in the paper's figure.
GROUPS = 7

#: A batch fit given ``(x, t_x, T)`` per customer and the horizon in weeks, returning its fitted
#: parameters and its forecasts per customer (the anchor from a PyPI implementation).
BatchForecast = Callable[[np.ndarray, np.ndarray, np.ndarray, float], tuple[dict, np.ndarray]]


@dataclass
class ClvSplit:
    """Per calibration customer: the summary at the calibration end, and the holdout truth."""

    users: list[str]
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    mean_value: np.ndarray
    actual: np.ndarray
    actual_spend: np.ndarray
    holdout_days: int
    model: LifetimeValue
    purchasers: int
    valued: int

    @classmethod
    def replay(
        cls, purchases: Iterable[PurchaseEvent], calibration_end_day: int, holdout_days: int, model: LifetimeValue
    ) -> ClvSplit:
        """Feed calibration purchases to ``model`` as the engine would; tally the holdout per customer."""
        fields: dict[str, object] = {}
        valued: set[str] = set()
        holdout: dict[str, dict[int, float]] = {}
        last_day = calibration_end_day + holdout_days
        for event in purchases:
            day = event.ts // DAY_MS
            if day <= calibration_end_day:
                fields[event.user_id], value = model.observe(fields.get(event.user_id), event, None)
                if value is not None:
                    valued.add(event.user_id)
            elif day <= last_day and event.user_id in fields:
                days = holdout.setdefault(event.user_id, {})
                days[day] = days.get(day, 0.0) + event.revenue
        # The refit the daily schedule runs at the first event after the calibration's last day:
        # it sees the calibration purchases only, so the forecasts are taken with it.
        if len(model.sample):
            model.refit(calibration_end_day * DAY_MS)
        users = list(fields)
        rows = [PurchaseHistory.from_fields(fields[user]).summary(calibration_end_day) for user in users]  # type: ignore[arg-type]
        x, t_x, T, mean = (np.array(column, dtype=float) for column in zip(*rows)) if rows else (np.zeros(0),) * 4
        actual = np.array([len(holdout.get(user, ())) for user in users], dtype=float)
        spend = np.array([sum(holdout.get(user, {}).values()) for user in users], dtype=float)
        return cls(users, x, t_x, T, mean, actual, spend, holdout_days, model, len(fields), len(valued))


def evaluate_clv(split: ClvSplit, batch: BatchForecast | None = None) -> dict:
    """Forecast quality of the online parameters, of a batch fit of the same likelihood, and of ``batch``.

    ``batch_mae`` and ``batch_total_predicted`` are the anchor's when one is given,
    else those of this module's own batch maximum likelihood over every calibration customer.
    """
    horizon = split.holdout_days / 7.0
    model = split.model
    online = expected_purchases(model.params, split.x, split.t_x, split.T, horizon)
    per_purchase = expected_spend(model.spend, split.x, split.mean_value)
    own_params = fit_bgnbd(split.x, split.t_x, split.T)
    own = expected_purchases(own_params, split.x, split.t_x, split.T, horizon)
    own_spend = fit_gamma_gamma(split.x, split.mean_value)
    result = {
        **_purchase_metrics(online, split.actual),
        "spend_total_predicted": float((online * per_purchase).sum()),
        "spend_total_actual": float(split.actual_spend.sum()),
        "spend_mae": float(np.abs(online * per_purchase - split.actual_spend).mean()),
        "customers": len(split.users),
        "purchasers": split.purchasers,
        "purchasers_valued": split.valued,
        "holdout_days": split.holdout_days,
        "params": model.parameters(),
        "own_batch": {**_purchase_metrics(own, split.actual), "bgnbd": own_params.as_dict(), "gamma_gamma": own_spend.as_dict()},
        "by_calibration_purchases": _by_group(split, online, own),
    }
    if batch is not None:
        batch_params, batch_forecast = batch(split.x, split.t_x, split.T, horizon)
        result["anchor"] = {**_purchase_metrics(batch_forecast, split.actual), "params": batch_params}
        result["by_calibration_purchases"] = _by_group(split, online, batch_forecast)
    else:
        batch_forecast = own
    result["batch_mae"] = float(np.abs(batch_forecast - split.actual).mean())
    result["batch_total_predicted"] = float(batch_forecast.sum())
    return result


def _purchase_metrics(predicted: np.ndarray, actual: np.ndarray) -> dict:
    error = predicted - actual
    total_actual = float(actual.sum())
    return {
        "total_predicted": float(predicted.sum()),
        "total_actual": total_actual,
        "total_error": float(predicted.sum() / total_actual - 1) if total_actual else float("nan"),
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "correlation": float(np.corrcoef(predicted, actual)[0, 1]) if len(actual) > 1 and actual.std() > 0 else float("nan"),
    }


def _by_group(split: ClvSplit, online: np.ndarray, batch: np.ndarray | None) -> list[dict]:
    """Mean holdout purchases, actual and forecast, by calibration repeat purchases (0, 1, ..., 7+)."""
    groups = np.minimum(split.x, GROUPS).astype(int)
    rows = []
    for group in range(GROUPS + 1):
        members = groups == group
        if not members.any():
            continue
        row = {
            "repeat_purchases": f"{group}+" if group == GROUPS else str(group),
            "customers": int(members.sum()),
            "actual": float(split.actual[members].mean()),
            "online": float(online[members].mean()),
        }
        if batch is not None:
            row["batch"] = float(batch[members].mean())
        rows.append(row)
    return rows
