"""The pure scoring pipeline: one event in, updated user record and maybe a score out.

The worker, the plain benchmark loop and the offline evaluation all run this
same code, so what is measured offline is what runs live.

>>> from events import ClickEvent, PurchaseEvent, PurchaseItem
>>> pipeline = ScoringPipeline(PropensityModel("logreg", lineage="doc"), window_s=1800)
>>> record, score = pipeline.handle(None, ClickEvent("e1", "u1", 1_700_000_000_000, "product_view", item_id="i1"))
>>> 0.0 <= score.score <= 1.0, len(record.pending)
(True, 1)
>>> record, score = pipeline.handle(record, PurchaseEvent("e2", "u1", 1_700_000_060_000, "o1",
...                                                         (PurchaseItem("i1", 5.0),)))
>>> score is None, record.pending.items[0][2], pipeline.model.learned
(True, 1, 0)
>>> _ = pipeline.expire(record, 1_700_000_000_000 + 1_800_001)
>>> pipeline.model.learned
1
"""

from __future__ import annotations

from dataclasses import dataclass

from events.schema import ClickEvent, PurchaseEvent
from features.user_state import DEFAULT_BOUNDS, FEATURE_NAMES, StateBounds
from online_models.labels import as_float32
from online_models.propensity import PropensityModel
from online_models.record import UserRecord


@dataclass(slots=True, frozen=True)
class Score:
    """A propensity score for the user of the click that triggered it."""

    user_id: str
    score: float
    model: str
    model_version: str
    event_id: str
    event_ts: int


class ScoringPipeline:
    """Update features, join delayed labels, learn, and score every click."""

    def __init__(
        self,
        model: PropensityModel,
        window_s: float = 1_800.0,
        bounds: StateBounds = DEFAULT_BOUNDS,
        max_pending: int = 16,
    ) -> None:
        self.model = model
        self.window_ms = int(window_s * 1000)
        self.bounds = bounds
        self.max_pending = max_pending
        self.duplicates = 0

    def handle(
        self, record: UserRecord | None, event: ClickEvent | PurchaseEvent
    ) -> tuple[UserRecord, Score | None]:
        """Fold ``event`` into the user's record; a click also gets a score.

        A repeated ``event_id`` changes nothing and scores nothing.
        """
        if record is None or record.state.is_expired(event.ts, self.bounds):
            record = UserRecord()
        if not record.state.update(event, self.bounds):
            self.duplicates += 1
            return record, None
        if isinstance(event, PurchaseEvent):
            record.pending.convert(event.ts, self.window_ms)
            return record, None
        self._learn(record.pending.expire(event.ts, self.window_ms))
        # Scored with exactly the (float32) values the pending example keeps.
        values = as_float32(record.state.to_x(event).values())
        probability = self.model.predict(dict(zip(FEATURE_NAMES, values)))
        record.pending.add(event.ts, values, self.max_pending)
        record.latest = [probability, self.model.version, event.event_id, event.ts]
        return record, Score(
            user_id=event.user_id,
            score=probability,
            model=self.model.name,
            model_version=self.model.version,
            event_id=event.event_id,
            event_ts=event.ts,
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

    def _learn(self, resolved: list[tuple[list[float], bool]]) -> None:
        for values, label in resolved:
            self.model.learn(dict(zip(FEATURE_NAMES, values)), label)
