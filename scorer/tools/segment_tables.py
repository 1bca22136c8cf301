"""``scorer evaluate``'s segment tables: per segment users, share and 7-day purchase rate, spread and churn."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_segments"]


def print_segments(report: dict[str, Any], console: Console | None = None) -> None:
    """Print one table per segmentation of a :func:`~scorer.segments.segment_report`."""
    console = console or Console()
    for key, title in (("rfm", "RFM segments"), ("clusters", "behavioural clusters")):
        section = report[key]
        spread, churn = section["spread"], section["daily_churn"]
        table = Table(
            title=f"{title}: spread best/worst {_figure(spread, '.2f')}, daily churn {_figure(churn, '.2%')}",
            caption=f"{report['cutoffs']} cutoffs every {report['cutoff_step_days']:g} d; users = mean held per cutoff",
        )
        for column in ("segment", "users", "share", f"purchase rate {report['horizon_days']:g} d"):
            table.add_column(column, justify="left" if column == "segment" else "right")
        for row in section["segments"]:
            table.add_row(row["segment"], f"{row['users']:,.1f}", f"{row['share']:.1%}", f"{row['purchase_rate_7d']:.2%}")
        console.print(table)


def _figure(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)
