"""``scorer evaluate``: offline prequential evaluation of files, with no broker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.progress import Progress

from scorer.datasets import read_events
from scorer.events import parse_ts
from scorer.scoring import label, run_offline
from scorer.propensity import propensity_report
from scorer.worker import make_pipeline, make_recommender
from scorer.settings import Settings


def count_rule(file_starts: list[int], eval_after: str | None, eval_from_file: int | None):
    """Which events count: after a time, or from the start of the N-th file (1-based)."""
    if eval_after is not None:
        after = parse_ts(int(eval_after) if eval_after.isdigit() else eval_after)
        return lambda index, ts: ts >= after
    if eval_from_file is not None:
        if not 1 <= eval_from_file <= len(file_starts):
            raise ValueError(f"--eval-from-file must be between 1 and {len(file_starts)}")
        first = file_starts[eval_from_file - 1]
        return lambda index, ts: index >= first
    return lambda index, ts: True


def evaluate_files(
    settings: Settings,
    paths: list[Path],
    fmt: str | None = None,
    eval_after: str | None = None,
    eval_from_file: int | None = None,
    plots: Path | None = None,
    closed_windows_only: bool = False,
    progress: bool = True,
    clv: bool = False,
    clv_calibration_end: str | None = None,
) -> dict[str, Any]:
    events: list[tuple[str, dict]] = []
    file_starts = []
    for path in paths:
        file_starts.append(len(events))
        events.extend(read_events([path], fmt))
    counts = count_rule(file_starts, eval_after, eval_from_file)
    window_ms = int(settings.conversion_window_s * 1000)
    pipeline = make_pipeline(settings, lineage="offline")
    started = time.perf_counter()
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("evaluating", total=len(events))
        run = run_offline(
            events,
            pipeline,
            make_recommender(settings),
            partitions=settings.partitions,
            count_from=counts,
            on_progress=lambda n: bar.update(task, completed=n),
        )
    elapsed = time.perf_counter() - started
    labels, scores, times = label(run, window_ms, closed_windows_only)
    next_item = run.next_item.result()
    result: dict[str, Any] = {
        "propensity": propensity_report(labels, scores),
        "recommendations": {
            "hr@10": next_item.hr10,
            "hr@20": next_item.hr20,
            "mrr@10": next_item.mrr10,
            "mrr@20": next_item.mrr20,
            "events": next_item.count,
        },
        "events": run.events,
        "rejected": run.rejected,
        "events_per_second": run.events / elapsed if elapsed else float("nan"),
        "model": settings.model,
        "conversion_window_s": settings.conversion_window_s,
    }
    if plots is not None:
        from scorer.tools.plots import write_plots  # matplotlib is slow to import; only when asked

        written = write_plots(plots, labels, scores, times, title=", ".join(p.name for p in paths))
        result["plots"] = [str(p) for p in written]
    if clv or clv_calibration_end is not None:
        from scorer.tools.clv_report import clv_section

        result["clv"] = clv_section(settings, events, clv_calibration_end, plots)
    return result
