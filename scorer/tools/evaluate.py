"""``scorer evaluate``: offline prequential evaluation of files, with no broker.

Every propensity figure is given twice: over the whole stream (the top-level keys of
``propensity``) and over the clicks whose conversion window closed before the data ends
(``propensity.closed``), each with 95 % intervals from a bootstrap over users
(``roc_auc_ci``, ``log_loss_ci``, ``base_rate_log_loss_ci``).

An evaluation that scored nothing, or rejected more than ``max_rejected_share`` of its
input, is refused with :class:`EvaluationRefused` (the CLI exits non-zero): null metrics
from a file the decoder could not read say nothing about a model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.progress import Progress

from scorer.datasets import read_events
from scorer.events import parse_ts
from scorer.scoring import label_with_users, run_offline
from scorer.propensity import bootstrap_by_user, propensity_report
from scorer.segments import segment_report
from scorer.worker import make_pipeline, make_recommender, make_segments
from scorer.settings import Settings


#: Default largest share of input events the decoder may reject before an evaluation is refused.
MAX_REJECTED_SHARE = 0.10


class EvaluationRefused(ValueError):
    """An evaluation whose input was mostly unreadable, or that scored no click."""


def quality_report(labels: list[bool], scores: list[float], users: list[str], replicates: int = 500) -> dict[str, Any]:
    """:func:`propensity_report` plus bootstrap-over-users intervals."""
    report: dict[str, Any] = propensity_report(labels, scores)
    report.update(bootstrap_by_user(labels, scores, users, replicates=replicates))
    report["users"] = len(set(users))
    return report


def check_input(events: int, rejected: dict[str, int], scored: int, max_rejected_share: float, require_scores: bool = True) -> None:
    """Refuse an evaluation that read too little to mean anything.

    >>> check_input(90, {"bad_timestamp": 10}, 50, 0.10)
    >>> check_input(80, {"missing_field": 20}, 50, 0.10)
    Traceback (most recent call last):
    ...
    scorer.tools.evaluate.EvaluationRefused: 20 of 100 input events (20.0 %) were rejected, more than the 10 % allowed (--max-rejected): missing_field 20
    """
    total = events + sum(rejected.values())
    share = sum(rejected.values()) / total if total else 0.0
    by_reason = ", ".join(f"{reason} {count}" for reason, count in sorted(rejected.items(), key=lambda kv: -kv[1]))
    if share > max_rejected_share:
        raise EvaluationRefused(
            f"{sum(rejected.values())} of {total} input events ({share * 100:.1f} %) were rejected, more than the "
            f"{max_rejected_share * 100:g} % allowed (--max-rejected): {by_reason}"
        )
    if not scored and require_scores:
        raise EvaluationRefused(f"no click was scored out of {total} input events" + (f" (rejected: {by_reason})" if by_reason else ""))


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
    max_rejected_share: float = MAX_REJECTED_SHARE,
    replicates: int = 500,
    clv: bool = False,
    clv_calibration_end: str | None = None,
) -> dict[str, Any]:
    """Replay ``paths`` offline and report quality; ``closed_windows_only`` restricts the whole-stream keys too."""
    # Streamed file by file in event-time order, never held whole (scorer/datasets/files.py).
    events = read_events(paths, fmt)
    counts = count_rule(events.starts, eval_after, eval_from_file)
    window_ms = int(settings.conversion_window_s * 1000)
    pipeline = make_pipeline(settings, lineage="offline")
    # Lifetime value has its own calibration/holdout run (--clv); segments ride along this one.
    segments = make_segments(settings, lineage="offline")
    segments.history = []
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
            user_models=[segments],
        )
    elapsed = time.perf_counter() - started
    want_clv = clv or clv_calibration_end is not None
    # A purchases-only log (CDNOW) has no click to score and is still a CLV and a segment evaluation.
    has_clicks = any(kind == "click" for kind, _ in events)
    check_input(run.events, dict(run.rejected_by_reason), len(run.scored), max_rejected_share, require_scores=has_clicks and not want_clv)
    labels, scores, times, users = label_with_users(run, window_ms, closed_windows_only)
    propensity = quality_report(labels, scores, users, replicates)
    propensity["closed"] = quality_report(*_closed(run, window_ms), replicates=replicates)
    next_item = run.next_item.result()
    result: dict[str, Any] = {
        "propensity": propensity,
        "recommendations": {
            "hr@10": next_item.hr10,
            "hr@20": next_item.hr20,
            "mrr@10": next_item.mrr10,
            "mrr@20": next_item.mrr20,
            "events": next_item.count,
        },
        "events": run.events,
        "rejected": run.rejected,
        "rejected_by_reason": dict(run.rejected_by_reason),
        "events_per_second": run.events / elapsed if elapsed else float("nan"),
        "model": settings.model,
        "conversion_window_s": settings.conversion_window_s,
    }
    if segments.history:
        result["segments"] = segment_report(segments.history, run.purchases, min(ts for _, ts, _, _ in segments.history), run.last_ts)
    if plots is not None:
        from scorer.tools.plots import write_plots  # matplotlib is slow to import; only when asked

        written = write_plots(plots, labels, scores, times, title=", ".join(p.name for p in paths))
        result["plots"] = [str(p) for p in written]
    if want_clv:
        from scorer.tools.clv_report import clv_section

        result["clv"] = clv_section(settings, events, clv_calibration_end, plots)
    return result


def _closed(run, window_ms: int) -> tuple[list[bool], list[float], list[str]]:
    labels, scores, _, users = label_with_users(run, window_ms, closed_windows_only=True)
    return labels, scores, users
