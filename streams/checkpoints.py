"""Model checkpoints on a compacted topic, authenticated with an HMAC.

The propensity model (with its challenger and its live quality) is sealed
(:mod:`online_models.snapshot`) and published to ``SCORER_TOPIC_MODELS`` under
the app id as key, so compaction keeps the newest. A starting worker reads the
topic back and resumes from the newest snapshot whose tag verifies; a snapshot
that fails the check is logged, counted and skipped, never deserialized.

Snapshots are taken when offsets are committed (just after the user state is
flushed), so a snapshot reflects exactly the events whose offsets it records:
after a crash the model may miss what it learned since the last snapshot, but it
never learns an example twice. A graceful stop always writes a last snapshot.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, TopicPartition

from online_models.snapshot import ModelSnapshot, SnapshotRejected, seal, unseal
from streams.settings import Settings

log = logging.getLogger(__name__)


class Checkpoints:
    """Write and read sealed model snapshots for one app."""

    def __init__(
        self,
        settings: Settings,
        produce: Callable[[str, bytes, bytes], None],
        on_rejected: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.settings = settings
        self.topic = settings.topic_models
        self.key = settings.app_id.encode()
        self._secret = settings.model_key.encode()
        self._produce = produce
        self._on_rejected = on_rejected
        self.saved = 0
        self.last_saved_ts: float | None = None
        self.last_size = 0

    @property
    def enabled(self) -> bool:
        """Without a key there is nothing to authenticate with, so nothing is written or read."""
        return bool(self._secret)

    def save(self, snapshot: ModelSnapshot, now_s: float) -> int:
        """Seal and publish ``snapshot``; returns its size in bytes."""
        sealed = seal(snapshot, self._secret)
        self._produce(self.topic, self.key, sealed)
        self.saved += 1
        self.last_saved_ts = now_s
        self.last_size = len(sealed)
        return len(sealed)

    def load_latest(self, timeout_s: float = 15.0) -> ModelSnapshot | None:
        """The newest snapshot of this app that verifies, or None."""
        if not self.enabled:
            return None
        for raw in reversed(read_values(self.settings, self.topic, self.key, timeout_s)):
            try:
                return unseal(raw, self._secret)
            except SnapshotRejected as exc:
                log.error("model snapshot refused (%s); trying an older one", exc)
                self._on_rejected(str(exc))
        return None


def read_values(settings: Settings, topic: str, key: bytes, timeout_s: float) -> list[bytes]:
    """Every value under ``key`` in partition 0 of ``topic``, oldest first, up to its end now."""
    consumer = Consumer(
        {
            **settings.kafka_config(),
            "group.id": f"{settings.app_id}-checkpoint-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        partition = TopicPartition(topic, 0)
        low, high = consumer.get_watermark_offsets(partition, timeout=timeout_s)
        if high <= low:
            return []
        consumer.assign([TopicPartition(topic, 0, low)])
        values: list[bytes] = []
        position = low
        deadline = time.monotonic() + timeout_s
        while position < high and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    break
                continue
            position = message.offset() + 1
            if message.key() == key and message.value() is not None:
                values.append(message.value())
        return values
    finally:
        consumer.close()
