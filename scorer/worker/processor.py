"""From one Kafka message to state, score and output: the synchronous heart of the worker.

The Faust agent and the plain benchmark loop both call
:meth:`EventProcessor.process` once per message; nothing here awaits.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from scorer.events import ClickEvent, ConsentEvent, decode_click, decode_consent, decode_purchase, InvalidEvent, list_payload, PurchaseEvent, RecommendationList, Score, score_payload
from scorer.recommend import Recommender
from scorer.scoring import ScoringEngine, ScoringPipeline, UserModel
from scorer.worker.prometheus import ScorerMetrics
from scorer.kafka import Publisher
from scorer.settings import Settings
from scorer.worker.state import RecordCache
from scorer.worker.wiring import list_policy


audit = logging.getLogger("scorer.audit")


def _kind(event: ClickEvent | PurchaseEvent | ConsentEvent) -> str:
    """The event's kind as list triggers name it: a click type, ``purchase`` or ``consent``."""
    if isinstance(event, ClickEvent):
        return event.type
    return "purchase" if isinstance(event, PurchaseEvent) else "consent"


@dataclass(slots=True, frozen=True)
class Accepted:
    """A decoded, checked message waiting for its turn in event time."""

    topic: str
    source: int
    partition: int
    offset: int
    key: bytes
    value: bytes
    event: ClickEvent | PurchaseEvent | ConsentEvent
    received_at: float | None
    record_ts: float | None


@dataclass(slots=True, frozen=True)
class _Erased:
    """An erasure request folded in; its tombstones go out in the publishing phase, in order."""

    applied: bool


class EventProcessor:
    """Decode, check the key, run the scoring engine, publish or dead-letter."""

    def __init__(
        self,
        settings: Settings,
        pipeline: ScoringPipeline,
        cache: RecordCache,
        publisher: Publisher,
        metrics: ScorerMetrics | None = None,
        recommender: Recommender | None = None,
        clock: Callable[[], float] = time.time,
        user_models: Sequence[UserModel] = (),
    ) -> None:
        self.metrics = metrics if metrics is not None else ScorerMetrics()
        self.pipeline = pipeline
        self.cache = cache
        self.engine = ScoringEngine(pipeline, cache, recommender, list_policy(settings), user_models=user_models)
        self.publisher = publisher
        self.clock = clock
        self._decoders: dict[str, Callable[[bytes], ClickEvent | PurchaseEvent | ConsentEvent]] = {
            settings.topic_clickstream: decode_click,
            settings.topic_purchases: decode_purchase,
            settings.topic_consent: decode_consent,
        }
        self._sources = {topic: index for index, topic in enumerate(self._decoders)}
        self._scores_topic = settings.topic_scores_propensity
        self._lists_topic = settings.topic_scores_recommendations
        self._consent_topic = settings.topic_consent
        # Each per-user model publishes to ``topic_scores_<name>``.
        self._model_topics = {model.name: getattr(settings, f"topic_scores_{model.name}") for model in user_models}
        # Erasure publishes tombstones to every output keyed by user, so compacted topics forget the user.
        self._erase_topics = (self._scores_topic, self._lists_topic, *self._model_topics.values())
        self._dlq_topic = settings.topic_dlq
        self.consumed: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.scored = 0
        self.tombstones = 0
        self.late = 0
        self._max_future_s = settings.max_future_s
        # How many accepted messages wait in the event-time aligner (the worker sets it).
        self.buffered: Callable[[], int] = lambda: 0
        # Offset of the last message handled, per (topic, partition): consumer lag is measured from it.
        self.offsets: dict[tuple[str, int], int] = {}

    @property
    def replayed(self) -> int:
        return self.engine.replayed

    def process(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        received_at: float | None = None,
        record_ts: float | None = None,
    ) -> None:
        """Handle one message at once (no alignment): :meth:`accept`, then :meth:`apply`."""
        accepted = self.accept(topic, partition, offset, key, value, received_at, record_ts)
        if accepted is not None:
            self.apply(accepted)

    def accept(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        received_at: float | None = None,
        record_ts: float | None = None,
    ) -> Accepted | None:
        """Decode and check one message; None when it was dead-lettered or carries nothing.

        ``received_at`` and ``record_ts`` are wall-clock seconds (arrival, and the record's
        Kafka timestamp), for latency metrics and the future-timestamp guard.
        """
        self.consumed[topic] += 1
        metrics = self.metrics
        if value is None and topic == self._consent_topic:
            # Compaction tombstones on the consent topic carry no request.
            metrics.count_consumed(topic, "tombstone")
            self.tombstones += 1
            self.settled(topic, partition, offset)
            return None
        try:
            event = self._decode(topic, key, value)
            if record_ts is not None and event.ts > (record_ts + self._max_future_s) * 1000:
                # A clock decades ahead would close every window and expire every user of
                # the partition; the producer's own record time bounds how far ahead it may be.
                raise InvalidEvent("future_timestamp", f"event time {event.ts} is more than {self._max_future_s:.0f} s after the record's timestamp")
        except InvalidEvent as exc:
            metrics.count_consumed(topic, "invalid")
            self.dead_letter(topic, partition, offset, key, value, exc.reason, str(exc))
            self.settled(topic, partition, offset)
            return None
        metrics.count_consumed(topic, getattr(event, "type", None) or getattr(event, "action", "purchase"))
        return Accepted(topic, self._sources[topic], partition, offset, key, value, event, received_at, record_ts)  # type: ignore[arg-type]

    def apply(self, accepted: Accepted) -> None:
        """Run one accepted event through the engine and publish what it produced."""
        self.apply_batch((accepted,))

    def apply_batch(self, batch: Sequence[Accepted]) -> None:
        """Run accepted events through the engine in order, then publish what they produced.

        Two phases: every event is folded in first (state, score, list), then the clock is
        read once and the outputs are produced, so each payload's ``published_at`` and the
        latency histograms describe the moment of publishing. A user gets at most one list
        per batch, built at their last trigger event (see :meth:`ScoringEngine.process`).
        """
        last: dict[bytes, int] = {}
        if len(batch) > 1:
            triggers = self.engine.policy.triggers
            for index, accepted in enumerate(batch):
                if _kind(accepted.event) in triggers:
                    last[accepted.key] = index
        results = [self._fold(accepted, last.get(accepted.key, index) == index) for index, accepted in enumerate(batch)]
        if not any(results):
            return
        now = self.clock()
        published_ms = int(now * 1000)
        produce, metrics = self.publisher.produce, self.metrics
        scores_topic, lists_topic, model_topics = self._scores_topic, self._lists_topic, self._model_topics
        for accepted, result in zip(batch, results):
            if result is None:
                continue
            if isinstance(result, _Erased):
                self._tombstone(accepted, result.applied, now)
                continue
            score, built, outputs = result
            key = accepted.key
            for name, output in outputs:
                model_topic = model_topics[name]
                produce(model_topic, key, output.payload(published_ms))
                metrics.count_published(model_topic)
            if built is not None:
                produce(lists_topic, key, list_payload(built, published_ms))
                metrics.count_published(lists_topic)
            if score is None:
                continue
            produce(scores_topic, key, score_payload(score, published_ms))
            self.scored += 1
            metrics.count_published(scores_topic)
            metrics.event_to_publish.observe(now - accepted.event.ts / 1000)
            if accepted.record_ts is not None:
                metrics.record_to_publish.observe(now - accepted.record_ts)
            if accepted.received_at is not None:
                metrics.consume_to_publish.observe(now - accepted.received_at)

    def _fold(self, accepted: Accepted, last_for_user: bool) -> tuple[Score | None, RecommendationList | None, list] | _Erased | None:
        """Apply one event to state; what it produced, or None when it produced nothing to publish."""
        topic, partition, offset, key, value, event = (
            accepted.topic, accepted.partition, accepted.offset, accepted.key, accepted.value, accepted.event,
        )
        metrics = self.metrics
        self.offsets[(topic, partition)] = offset
        engine = self.engine
        if engine.is_late(partition, event.ts):
            metrics.count_late(topic)
            self.late += 1
        if isinstance(event, ConsentEvent):
            return self._consent(topic, partition, offset, key, value, event)
        replayed, suppressed, duplicates = engine.replayed, engine.suppressed, self.pipeline.duplicates
        try:
            # _decode checked that the key is the user id.
            score = engine.process(accepted.source, partition, offset, key, event, last_for_user)
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the partition
            self.dead_letter(topic, partition, offset, key, value, "processing_error", repr(exc))
            return None
        built, outputs = engine.recommendation, engine.outputs
        if score is None:
            if engine.replayed != replayed:
                metrics.replayed.inc()
            elif engine.suppressed != suppressed:
                metrics.suppressed.inc()
            elif self.pipeline.duplicates != duplicates:
                metrics.duplicates.inc()
            if built is None and not outputs:
                return None
        return score, built, outputs

    def settled(self, topic: str, partition: int, offset: int) -> None:
        """Note a message handled without reaching the engine (a tombstone, a dead letter)."""
        self.offsets[(topic, partition)] = max(offset, self.offsets.get((topic, partition), -1))

    def accounting(self) -> dict[str, int]:
        """Where every consumed message went; ``unaccounted`` is 0 when nothing was lost track of.

        Each message is consumed once and ends in exactly one of: scored (a click with a
        score), learned from (a purchase, an applied consent request), rejected, replayed,
        suppressed, erased (an event dated before its user's erasure), duplicate (a repeated event id), a consent tombstone, or still buffered
        for event-time alignment. ``late`` counts events handled normally but behind the
        partition's clock by more than the lateness bound; they are in the other counts too.
        """
        engine = self.engine
        counts = {
            "consumed": sum(self.consumed.values()),
            "scored": self.scored,
            "purchases": engine.purchases,
            "consent_applied": engine.consent_applied,
            "rejected": sum(self.rejected.values()),
            "replayed": engine.replayed,
            "suppressed": engine.suppressed,
            "erased": engine.erased,
            "duplicates": self.pipeline.duplicates,
            "tombstones": self.tombstones,
            "buffered": self.buffered(),
        }
        counts["unaccounted"] = counts["consumed"] - sum(v for k, v in counts.items() if k != "consumed")
        counts["late"] = self.late
        return counts

    def _consent(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes,
        value: bytes,
        event: ConsentEvent,
    ) -> "_Erased | None":
        try:
            applied = self.engine.apply_consent(self._sources[topic], partition, offset, key, event)
        except Exception as exc:  # noqa: BLE001 - same rule as for events
            self.dead_letter(topic, partition, offset, key, value, "processing_error", repr(exc))
            return None
        if not applied:
            self.metrics.replayed.inc()
        else:
            self.metrics.consent.labels(action=event.action).inc()
        # Tombstones go out again for a redelivered erasure too: its first ones may have been
        # lost with the process that applied it, and one more tombstone costs nothing.
        return _Erased(applied) if event.action == "erase" else None

    def _tombstone(self, accepted: Accepted, applied: bool, now: float) -> None:
        """Publish an erasure: a tombstone for the user on every output topic keyed by user."""
        for output in self._erase_topics:
            self.publisher.produce(output, accepted.key, None)
        if accepted.record_ts is not None:
            self.metrics.erasure.observe(now - accepted.record_ts)
        event = accepted.event
        # The audit trail names the request, never the person.
        audit.info(
            "%s",
            orjson.dumps(
                {"audit": "erasure", "request_event_id": event.event_id, "request_ts": event.ts,
                 "partition": accepted.partition, "completed_at": int(now * 1000), "redelivered": not applied}
            ).decode(),
        )

    def forget(self, partitions: set[int]) -> None:
        """Drop in-memory bookkeeping of partitions this worker no longer owns."""
        self.engine.forget(partitions)

    def _decode(self, topic: str, key: bytes | None, value: bytes | None) -> ClickEvent | PurchaseEvent:
        decoder = self._decoders.get(topic)
        if decoder is None:
            raise InvalidEvent("unknown_topic", f"no decoder for topic {topic!r}")
        if value is None:
            raise InvalidEvent("missing_value", "message has no value")
        event = decoder(value)
        # State is partitioned by the key: a key other than the user id would put
        # this user's events on partitions whose state does not hold them.
        if key is None:
            raise InvalidEvent("missing_key", "message key must be the user_id")
        if key != event.user_id.encode():
            raise InvalidEvent("key_mismatch", "message key differs from the value's user_id")
        return event

    def dead_letter(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        error: str,
    ) -> None:
        """Send the original message, untouched, to the dead-letter topic with why it failed."""
        self.rejected[reason] += 1
        self.metrics.count_rejected(reason)
        self.publisher.produce(
            self._dlq_topic,
            key,
            value,
            headers=[
                ("scorer.source.topic", topic.encode()),
                ("scorer.source.partition", str(partition).encode()),
                ("scorer.source.offset", str(offset).encode()),
                ("scorer.reason", reason.encode()),
                ("scorer.error", error[:1000].encode()),
            ],
        )
