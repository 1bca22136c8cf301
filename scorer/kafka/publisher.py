"""Publishing through librdkafka (confluent-kafka).

Faust's own send path (aiokafka) costs 3-4x the throughput of the whole
worker; librdkafka batches in its own thread and is nearly free to call.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Producer

from scorer.settings import Settings
from scorer.kafka.topics import MAX_SNAPSHOT_BYTES


class PublishError(RuntimeError):
    """A record could not be delivered."""


class Publisher:
    """A thin, synchronous wrapper over a confluent-kafka ``Producer``."""

    def __init__(self, settings: Settings, **config: Any) -> None:
        self._producer = Producer(
            {
                **settings.kafka_config(),
                "linger.ms": 5,
                # Kafka's Java client and Faust's table router hash keys with murmur2;
                # librdkafka's default (CRC32) would send a user to another partition.
                "partitioner": "murmur2_random",
                "enable.idempotence": False,
                "queue.buffering.max.messages": 1_000_000,
                # Model snapshots are single large records (see topics.MAX_SNAPSHOT_BYTES).
                "message.max.bytes": MAX_SNAPSHOT_BYTES,
                **config,
            }
        )
        self.failures = 0
        self.last_error: KafkaError | None = None

    def _on_delivery(self, err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            self.failures += 1
            self.last_error = err

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": self._on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = headers
        try:
            self._producer.produce(topic, **kwargs)
        except BufferError:
            # The local queue is full: let librdkafka drain it, then retry once.
            self._producer.poll(0.5)
            self._producer.produce(topic, **kwargs)

    def poll(self) -> None:
        """Serve delivery callbacks without blocking."""
        self._producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Block until everything produced so far is acknowledged by the broker."""
        remaining = self._producer.flush(timeout_s)
        if remaining:
            raise PublishError(f"{remaining} records still undelivered after {timeout_s}s")
        if self.last_error is not None:
            err, self.last_error = self.last_error, None
            raise PublishError(f"delivery failed: {err}")
