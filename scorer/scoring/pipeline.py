"""The pure scoring pipeline: one event in, updated user record and maybe a score out.

The worker, the plain benchmark loop and the offline evaluation all run this
same code, so what is measured offline is what runs live.

>>> from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem
>>> pipeline = ScoringPipeline(PropensityModel("logreg", lineage="doc"), window_s=CONVERSION_WINDOW_S)
>>> record, score = pipeline.handle(None, ClickEvent("e1", "u1", 1_700_000_000_000, "product_view", item_id="i1"))
>>> 0.0 <= score.score <= 1.0, len(record.pending)
(True, 1)
>>> record, score = pipeline.handle(record, PurchaseEvent("e2", "u1", 1_700_000_060_000, "o1",
...                                                         (PurchaseItem("i1", 5.0),)))
>>> score is None, record.pending.items[0][2], pipeline.model.learned  # converted after 60 s, not learned yet
(True, 60000, 0)
>>> _ = pipeline.expire(record, 1_700_000_000_000 + 1_800_001)
>>> pipeline.model.learned
1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from scorer.events import ClickEvent, PurchaseEvent, Score
from scorer.features import DEFAULT_BOUNDS, FEATURE_NAMES, FeatureBuilder, StateBounds
from scorer.propensity import CONVERSION_WINDOW_S, as_float32, PropensityModel, QualityTracker, Resolved
from scorer.scoring.record import UserRecord


class Scorer(Protocol):
    """What the pipeline needs of a model: a PropensityModel or a ChampionChallenger."""

    name: str

    @property
    def version(self) -> str: ...

    def predict(self, x: dict[str, float]) -> float: ...

    def predict_with_reasons(self, x: dict[str, float], k: int = 3) -> tuple[float, list[tuple[str, float]]]: ...

    def learn(self, x: dict[str, float], y: bool) -> None: ...


def segment_of(event: ClickEvent, returning: bool, extra: Mapping[str, str] | None = None) -> str:
    """The click's segment as stored with its pending example: ``"new|mobile|email"``.

    ``extra`` adds dimensions the per-user models give the user at click time (the
    RFM segment) as ``|name=value`` parts: the label of a click arrives up to a
    window later, when the user may have moved, and the quality is judged by the
    segment the click was scored in.
    """
    base = f"{'returning' if returning else 'new'}|{event.device or ''}|{event.channel or ''}"
    if extra:
        base += "".join(f"|{name}={value}" for name, value in extra.items())
    return base


def segments_of(segment: str) -> dict[str, str]:
    """The dimensions of a stored segment; absent device or channel are left out.

    >>> segments_of("returning|mobile|")
    {'user': 'returning', 'device': 'mobile'}
    >>> segments_of("new||email|rfm=champions")
    {'user': 'new', 'channel': 'email', 'rfm': 'champions'}
    """
    parts = segment.split("|")
    user, device, channel = (parts + ["", "", ""])[:3]
    found = {"user": user or "new"}
    if device:
        found["device"] = device
    if channel:
        found["channel"] = channel
    for part in parts[3:]:
        name, _, value = part.partition("=")
        if name and value:
            found[name] = value
    return found


class ScoringPipeline:
    """Update features, join delayed labels, learn, and score every click."""

    def __init__(
        self,
        model: Scorer,
        window_s: float = CONVERSION_WINDOW_S,
        bounds: StateBounds = DEFAULT_BOUNDS,
        max_pending: int = 16,
        quality: QualityTracker | None = None,
        explain: int = 3,
        features: FeatureBuilder | None = None,
    ) -> None:
        self.model = model
        # The feature vector (user state plus catalog rates, bounded): scorer.features.vector.
        self.features = features if features is not None else FeatureBuilder()
        self.window_ms = int(window_s * 1000)
        self.bounds = bounds
        self.max_pending = max_pending
        # Live prequential quality of the published scores, fed as labels resolve.
        self.quality = quality if quality is not None else QualityTracker()
        self.explain = explain
        self.duplicates = 0
        # Resolved examples whose vector has another width than today's features: not learned.
        self.stale_examples = 0
        # Examples learned by this pipeline, whatever model holds them: a promoted
        # challenger has learned fewer than the champion it replaces.
        self.learned = 0
        self.learned_positive = 0
        # Where resolved examples go: learned here, or handed to a shared training log
        # that every worker reads back and learns in the same order.
        self.on_resolved: Callable[[Resolved], None] = self.learn_example

    def handle(
        self, record: UserRecord | None, event: ClickEvent | PurchaseEvent, dimensions: Mapping[str, str] | None = None
    ) -> tuple[UserRecord, Score | None]:
        """Fold ``event`` into the user's record; a click also gets a score.

        A repeated ``event_id`` changes nothing and scores nothing. ``dimensions``
        are extra quality dimensions of the user at click time (see :func:`segment_of`).
        """
        if record is None or record.state.is_expired(event.ts, self.bounds):
            record = UserRecord()
        if not record.state.update(event, self.bounds):
            self.duplicates += 1
            return record, None
        self.features.observe(event)
        if isinstance(event, PurchaseEvent):
            record.pending.convert(event.ts, self.window_ms)
            return record, None
        self._learn(record.pending.expire(event.ts, self.window_ms))
        # Scored with exactly the (float32) values the pending example keeps.
        values = as_float32(self.features.vector(record.state, event))
        x = dict(zip(FEATURE_NAMES, values))
        model = self.model
        probability, why = model.predict_with_reasons(x, self.explain)
        segment = segment_of(event, record.state.sessions_total > 1, dimensions)
        record.pending.add(event.ts, values, self.max_pending, probability, segment)
        record.latest = [probability, model.version, event.event_id, event.ts]
        return record, Score(
            user_id=event.user_id,
            score=probability,
            model=model.name,
            model_version=model.version,
            event_id=event.event_id,
            event_ts=event.ts,
            reasons=tuple(why),
        )

    def expire(self, record: UserRecord, now_ts: int) -> int | None:
        """Learn the negatives whose window closed before ``now_ts``.

        Returns when the user's next pending example falls due, or None.
        """
        self._learn(record.pending.expire(now_ts, self.window_ms))
        return self.next_due(record)

    def next_due(self, record: UserRecord) -> int | None:
        """Event time after which the user's oldest pending example is negative."""
        items = record.pending.items
        return items[0][0] + self.window_ms if items else None

    def _learn(self, resolved: list[Resolved]) -> None:
        width = len(FEATURE_NAMES)
        for example in resolved:
            if len(example.values) != width:
                # Kept in a record under another feature vector (before an upgrade): its values
                # would land on the wrong features. Counted, not learned; one window's worth at most.
                self.stale_examples += 1
                continue
            self.on_resolved(example)

    def learn_example(self, example: Resolved) -> None:
        """Count the example's score in the live quality, then learn it."""
        self.quality.add(example.score, example.label, example.delay_ms, segments_of(example.segment))
        self.model.learn(dict(zip(FEATURE_NAMES, example.values)), example.label)
        self.learned += 1
        self.learned_positive += example.label
