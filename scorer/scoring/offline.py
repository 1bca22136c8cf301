"""Offline prequential evaluation through the engine the worker runs.

Events are decoded by the worker's decoder, partitioned by Kafka's default
partitioner, and folded in by :class:`ScoringEngine`, so labels arrive as late
as they would live: a click's score is computed before anything after it is
known, and the model learns an example only when its conversion window has
closed in event time.

Each counted click is labelled by what really happened next: positive if the
same user purchased within the window after it. A click whose window reaches
past the last event of the data counts as negative unless a purchase is seen
(the data cannot say more), or is left out with ``closed_windows_only``. Reports give
both: near the end of a short sample most windows are cut off, and the whole-stream
figure then mostly measures how those open windows were counted.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import orjson

from scorer.events import decode_click, decode_purchase, InvalidEvent, partition_for
from scorer.scoring.engine import ListPolicy, ScoringEngine
from scorer.scoring.store import MemoryStore
from scorer.scoring.pipeline import ScoringPipeline
from scorer.scoring.user_models import UserModel
from scorer.recommend import NextItemEvaluator, Recommender

_DECODERS = {"click": (0, decode_click), "purchase": (1, decode_purchase)}


@dataclass
class ScoredClick:
    user_id: str
    ts: int
    score: float


@dataclass
class PropensityRun:
    """What a prequential pass produced, before labelling."""

    scored: list[ScoredClick] = field(default_factory=list)
    purchases: dict[str, list[int]] = field(default_factory=dict)
    events: int = 0
    rejected: int = 0
    #: Rejected input by the decoder's reason (the dead-letter reasons of the worker).
    rejected_by_reason: Counter = field(default_factory=Counter)
    last_ts: int = 0
    next_item: NextItemEvaluator = field(default_factory=NextItemEvaluator)


def run_offline(
    events: Iterable[tuple[str, dict]],
    pipeline: ScoringPipeline,
    recommender: Recommender | None = None,
    partitions: int = 8,
    count_from: Callable[[int, int], bool] = lambda index, ts: True,
    on_progress: Callable[[int], None] = lambda n: None,
    user_models: Sequence[UserModel] = (),
) -> PropensityRun:
    """Feed ``(kind, event)`` pairs through the engine; keep what ``count_from(index, ts)`` selects.

    Every counted trigger event gets a list (no rate limit), so each view in a
    session is checked against the list built right after the event before it.
    Events that are not counted teach the models but build no list: a session
    that straddles the start of counting has its first counted view unchecked.
    """
    engine = ScoringEngine(pipeline, MemoryStore(), recommender, ListPolicy(min_interval_ms=0, k=20), user_models=user_models)
    run = PropensityRun()
    for index, (kind, doc) in enumerate(events):
        source, decode = _DECODERS[kind]
        try:
            event = decode(orjson.dumps(doc))
        except InvalidEvent as exc:
            run.rejected += 1
            run.rejected_by_reason[exc.reason] += 1
            continue
        key = event.user_id.encode()
        counted = count_from(index, event.ts)
        engine.next_item_total = run.next_item if counted else None
        engine.lists_enabled = counted
        score = engine.process(source, partition_for(key, partitions), index, key, event)
        run.events += 1
        run.last_ts = max(run.last_ts, event.ts)
        if score is not None and counted:
            run.scored.append(ScoredClick(event.user_id, event.ts, score.score))
        elif source == 1:
            run.purchases.setdefault(event.user_id, []).append(event.ts)
        if index % 1000 == 0:
            on_progress(index)
    on_progress(run.events + run.rejected)
    return run


def label(
    run: PropensityRun, window_ms: int, closed_windows_only: bool = False
) -> tuple[list[bool], list[float], list[int]]:
    """Labels, scores and times of the counted clicks."""
    labels, scores, times, _ = label_with_users(run, window_ms, closed_windows_only)
    return labels, scores, times


def label_with_users(
    run: PropensityRun, window_ms: int, closed_windows_only: bool = False
) -> tuple[list[bool], list[float], list[int], list[str]]:
    """Labels, scores, times and users of the counted clicks (users for a bootstrap over users).

    A click's window is closed when the data runs at least ``window_ms`` past it.
    """
    for times in run.purchases.values():
        times.sort()
    labels, scores, times, users = [], [], [], []
    for click in run.scored:
        if closed_windows_only and click.ts + window_ms > run.last_ts:
            continue
        bought = run.purchases.get(click.user_id, [])
        first = bisect.bisect_left(bought, click.ts)
        labels.append(first < len(bought) and bought[first] - click.ts <= window_ms)
        scores.append(click.score)
        times.append(click.ts)
        users.append(click.user_id)
    return labels, scores, times, users


