"""From one Kafka message to state, score and output: the synchronous heart of the worker.

The Faust agent and the plain benchmark loop both call
:meth:`EventProcessor.process` once per message; nothing here awaits.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

import orjson

from scorer.events import ClickEvent, ConsentEvent, decode_click, decode_consent, decode_purchase, InvalidEvent, list_payload, PurchaseEvent, score_payload
from scorer.recommend import Recommender
from scorer.scoring import ScoringEngine, ScoringPipeline
from scorer.worker.prometheus import ScorerMetrics
from scorer.kafka import Publisher
from scorer.settings import Settings
from scorer.worker.state import RecordCache
from scorer.worker.wiring import list_policy


audit = logging.getLogger("scorer.audit")


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
    ) -> None:
        self.metrics = metrics if metrics is not None else ScorerMetrics()
        self.pipeline = pipeline
        self.cache = cache
        self.engine = ScoringEngine(pipeline, cache, recommender, list_policy(settings))
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
        # Erasure publishes tombstones to every output keyed by user, so compacted topics forget the user.
        self._erase_topics = (self._scores_topic, self._lists_topic)
        self._dlq_topic = settings.topic_dlq
        self.consumed: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.scored = 0
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
        """Handle one message. ``received_at`` and ``record_ts`` are wall-clock seconds, for latency metrics."""
        self.consumed[topic] += 1
        self.offsets[(topic, partition)] = offset
        metrics = self.metrics
        if value is None and topic == self._consent_topic:
            # Compaction tombstones on the consent topic carry no request.
            metrics.count_consumed(topic, "tombstone")
            return
        try:
            event = self._decode(topic, key, value)
        except InvalidEvent as exc:
            metrics.count_consumed(topic, "invalid")
            self.dead_letter(topic, partition, offset, key, value, exc.reason, str(exc))
            return
        if isinstance(event, ConsentEvent):
            metrics.count_consumed(topic, event.action)
            self._consent(topic, partition, offset, key, value, event, record_ts)  # type: ignore[arg-type]
            return
        metrics.count_consumed(topic, getattr(event, "type", "purchase"))
        replayed, suppressed = self.engine.replayed, self.engine.suppressed
        try:
            # _decode checked that the key is the user id.
            score = self.engine.process(self._sources[topic], partition, offset, key, event)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - one bad event must not stop the partition
            self.dead_letter(topic, partition, offset, key, value, "processing_error", repr(exc))
            return
        built = self.engine.recommendation
        if built is None and score is None:
            if self.engine.replayed != replayed:
                metrics.replayed.inc()
            elif self.engine.suppressed != suppressed:
                metrics.suppressed.inc()
            return
        now = self.clock()
        if built is not None:
            self.publisher.produce(self._lists_topic, key, list_payload(built, int(now * 1000)))
            metrics.count_published(self._lists_topic)
        if score is None:
            return
        self.publisher.produce(self._scores_topic, key, score_payload(score, int(now * 1000)))
        self.scored += 1
        metrics.count_published(self._scores_topic)
        metrics.event_to_publish.observe(now - event.ts / 1000)
        if record_ts is not None:
            metrics.record_to_publish.observe(now - record_ts)
        if received_at is not None:
            metrics.consume_to_publish.observe(now - received_at)

    def _consent(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes,
        value: bytes,
        event: ConsentEvent,
        record_ts: float | None,
    ) -> None:
        try:
            applied = self.engine.apply_consent(self._sources[topic], partition, offset, key, event)
        except Exception as exc:  # noqa: BLE001 - same rule as for events
            self.dead_letter(topic, partition, offset, key, value, "processing_error", repr(exc))
            return
        if not applied:
            self.metrics.replayed.inc()
            return
        if event.action == "erase":
            for output in self._erase_topics:
                self.publisher.produce(output, key, None)
            done = self.clock()
            if record_ts is not None:
                self.metrics.erasure.observe(done - record_ts)
            # The audit trail names the request, never the person.
            audit.info(
                "%s",
                orjson.dumps(
                    {"audit": "erasure", "request_event_id": event.event_id, "request_ts": event.ts,
                     "partition": partition, "completed_at": int(done * 1000)}
                ).decode(),
            )
        self.metrics.consent.labels(action=event.action).inc()

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
