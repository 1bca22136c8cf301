"""How long the worker's Kafka consumer lets a broker hold a fetch with no data.

faust-streaming 0.15 creates its aiokafka consumer with ``fetch_max_wait_ms``
fixed at 1,500. Kafka answers a fetch as soon as any data is there, but the
embedded broker (Tansu 0.6) holds a fetch over several partitions for most of
that time (measured: about 720 ms from produce to consume on an 8-partition
topic, against 10 ms with a 50 ms wait), which would put that delay in front
of every score. The wait only bounds how long an idle fetch may hang, so a
short one costs a few idle requests a second and nothing else.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_original = AIOKafkaConsumerThread._create_worker_consumer


def limit_fetch_wait(max_wait_ms: int) -> None:
    """Make every Faust worker consumer created from now on wait at most ``max_wait_ms`` per fetch."""

    def create(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = _original(self, transport)
        # Read by aiokafka when the consumer starts and builds its fetcher.
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]
