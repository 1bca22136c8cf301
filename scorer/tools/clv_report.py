"""The CLV part of ``scorer evaluate``: the calibration/holdout split, the batch anchor, the plot.

The anchor is ``lifetimes``' ``BetaGeoFitter`` (the ``clv-eval`` extra): a batch
BG/NBD fit on the same calibration summaries, so the online parameters are judged
beside the implementation the field uses. Without the extra, the batch fit of the
scorer's own likelihood stands in, and the report says which one it is.
"""

from __future__ import annotations

import contextlib
import io
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from scorer.clv import DAY_MS, ClvSplit, evaluate_clv
from scorer.events import InvalidEvent, decode_purchase, parse_ts
from scorer.settings import Settings
from scorer.worker import make_lifetime_value

#: Calibration and holdout length of the BG/NBD paper's CDNOW analysis: 39 weeks each.
DEFAULT_WEEKS = 39


def lifetimes_anchor(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, horizon: float) -> tuple[dict, np.ndarray]:
    """Fit ``lifetimes.BetaGeoFitter`` in batch on the summaries; its parameters and forecasts."""
    from lifetimes import BetaGeoFitter

    fitter = BetaGeoFitter()
    # lifetimes prints the optimiser's report to stdout when a fit fails; --json owns stdout.
    with contextlib.redirect_stdout(io.StringIO()):
        fitter.fit(x, t_x, T)
    forecast = fitter.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T)
    return {"implementation": "lifetimes", **{k: float(v) for k, v in fitter.params_.items()}}, np.asarray(forecast, dtype=float)


def _anchor():
    try:
        import lifetimes  # noqa: F401
    except ImportError:
        return None
    return lifetimes_anchor


def calibration_day(text: str) -> int:
    """The day number (days since 1970-01-01, UTC) of a date, an RFC 3339 time or epoch milliseconds.

    >>> calibration_day("1997-09-30"), calibration_day("1997-09-30T23:00:00Z"), calibration_day("875577600000")
    (10134, 10134, 10134)
    """
    if len(text) == 10 and text[4] == "-":
        return date.fromisoformat(text).toordinal() - date(1970, 1, 1).toordinal()
    return parse_ts(int(text) if text.isdigit() else text) // DAY_MS


def clv_section(settings: Settings, events: list[tuple[str, dict]], calibration_end: str | None, plots: Path | None) -> dict[str, Any]:
    """Replay the purchases of ``events`` through the CLV model, split at ``calibration_end``.

    ``calibration_end`` is a day (RFC 3339 or epoch ms; its whole day is calibration),
    by default the end of the first 39 weeks of the data. The holdout runs 39 weeks
    after it, or to the end of the data if that comes first.
    """
    purchases = []
    for kind, doc in events:
        if kind != "purchase":
            continue
        try:
            purchases.append(decode_purchase(orjson.dumps(doc)))
        except InvalidEvent:
            continue
    if not purchases:
        raise ValueError("the CLV evaluation needs purchases, and these files have none")
    first_day, last_day = purchases[0].ts // DAY_MS, purchases[-1].ts // DAY_MS
    if calibration_end is None:
        end_day = first_day + DEFAULT_WEEKS * 7 - 1
    else:
        end_day = calibration_day(calibration_end)
    holdout_days = min(DEFAULT_WEEKS * 7, last_day - end_day)
    if holdout_days < 1:
        raise ValueError("the calibration end leaves no holdout: pick an earlier --clv-calibration-end")
    split = ClvSplit.replay(purchases, end_day, holdout_days, make_lifetime_value(settings))
    anchor = _anchor()
    failure = None
    try:
        result = evaluate_clv(split, anchor)
    except Exception as exc:  # noqa: BLE001 - lifetimes refuses fits it cannot converge (short data with no dropout)
        anchor, failure = None, " ".join(str(exc).split())
        result = evaluate_clv(split, None)
    if failure is not None:
        result["anchor_failed"] = f"lifetimes: {failure}"
    result["calibration_end"] = datetime.fromtimestamp(end_day * 86_400, timezone.utc).date().isoformat()
    result["anchor_implementation"] = "lifetimes" if anchor is not None else "scorer (batch maximum likelihood)"
    if plots is not None:
        result["plot"] = str(plot_by_calibration_purchases(plots, result))
    return result


def plot_by_calibration_purchases(directory: Path, result: dict) -> Path:
    """Mean holdout purchases, actual and forecast, by calibration repeat purchases (the paper's Figure 4)."""
    from scorer.tools.plots import plt  # matplotlib is slow to import; only when asked

    rows = result["by_calibration_purchases"]
    labels = [row["repeat_purchases"] for row in rows]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(labels, [row["actual"] for row in rows], "o-", color="black", label="actual")
    ax.plot(labels, [row["online"] for row in rows], "s--", label="online BG/NBD (scorer)")
    if all("batch" in row for row in rows):
        ax.plot(labels, [row["batch"] for row in rows], "^:", label="batch BG/NBD (lifetimes)")
    ax.set(
        xlabel="repeat purchases in the calibration period",
        ylabel=f"mean purchases in the next {result['holdout_days']} days",
        title=f"CLV: holdout after {result['calibration_end']}",
    )
    ax.legend(loc="upper left")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "clv_by_calibration_purchases.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_clv(clv: dict) -> None:
    """The CLV section as two tables: online against the batch anchor, and by calibration purchases."""
    from rich.console import Console
    from rich.table import Table

    anchor = clv.get("anchor", clv["own_batch"])
    table = Table(title=f"CLV: calibration to {clv['calibration_end']}, holdout {clv['holdout_days']} days, {clv['customers']:,} customers")
    table.add_column("repeat purchases in the holdout")
    table.add_column("online", justify="right")
    table.add_column(f"batch ({clv['anchor_implementation']})", justify="right")
    for name in ("total_predicted", "total_actual", "total_error", "mae", "rmse", "correlation"):
        table.add_row(name, f"{clv[name]:,.4f}", f"{anchor[name]:,.4f}")
    table.add_row("spend_total_predicted", f"{clv['spend_total_predicted']:,.2f}", "")
    table.add_row("spend_total_actual", f"{clv['spend_total_actual']:,.2f}", "")
    table.add_row("spend_mae", f"{clv['spend_mae']:,.4f}", "")
    table.add_row("purchasers valued / purchasers", f"{clv['purchasers_valued']:,} / {clv['purchasers']:,}", "")
    console = Console()
    console.print(table)
    groups = Table(title="mean holdout purchases by calibration repeat purchases")
    for column in ("repeat purchases", "customers", "actual", "online", "batch"):
        groups.add_column(column, justify="right")
    for row in clv["by_calibration_purchases"]:
        batch = row.get("batch")
        groups.add_row(row["repeat_purchases"], f"{row['customers']:,}", f"{row['actual']:.3f}", f"{row['online']:.3f}", "" if batch is None else f"{batch:.3f}")
    console.print(groups)
    if "plot" in clv:
        console.print(f"wrote {clv['plot']}")
