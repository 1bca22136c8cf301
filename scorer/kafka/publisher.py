"""Publishing through librdkafka (confluent-kafka).

Faust's own send path (aiokafka) costs 3-4x the throughput of the whole
worker; librdkafka batches in its own thread and is nearly free to call.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from confluent_kafka import KafkaError, Producer

from scorer.settings import Settings
from scorer.kafka.logs import client_logging
from scorer.kafka.topics import MAX_SNAPSHOT_BYTES

#: How often librdkafka reports its brokers' connection states (see :attr:`Publisher.broker_reachable`).
STATS_INTERVAL_MS = 2000


class PublishError(RuntimeError):
    """A record could not be delivered."""


class Publisher:
    """A thin, synchronous wrapper over a confluent-kafka ``Producer``."""

    def __init__(self, settings: Settings, **config: Any) -> None:
        self._producer = Producer(
            {
                **settings.kafka_config(),
                **client_logging(),
                # Connection states, served with the delivery callbacks by poll(): a cheap,
                # passive answer to "is the broker reachable?" for /health during an outage.
                "statistics.interval.ms": STATS_INTERVAL_MS,
                "stats_cb": self._on_stats,
                "error_cb": self._on_error,
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
        self.delivered = 0
        self.last_error: KafkaError | None = None
        #: False once librdkafka says no broker is up, True again once one is (None: not known yet).
        self.broker_reachable: bool | None = None
        #: Monotonic time since which no broker was up, while that lasts.
        self.unreachable_since: float | None = None

    def _on_delivery(self, err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            self.failures += 1
            self.last_error = err
        else:
            self.delivered += 1

    def _set_reachable(self, reachable: bool) -> None:
        if not reachable and self.broker_reachable is not False:
            self.unreachable_since = time.monotonic()
        elif reachable:
            self.unreachable_since = None
        self.broker_reachable = reachable

    def _on_stats(self, document: str) -> None:
        brokers = orjson.loads(document).get("brokers", {})
        # Bootstrap entries (nodeid -1) stand for the configured addresses; learned brokers for the cluster.
        states = [b.get("state") for b in brokers.values() if b.get("nodeid", -1) >= 0] or [b.get("state") for b in brokers.values()]
        if states:
            self._set_reachable("UP" in states)

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._set_reachable(False)

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
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                return
            except BufferError:
                # The local queue is full: wait for librdkafka to drain some of it.
                self._producer.poll(0.1)

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
