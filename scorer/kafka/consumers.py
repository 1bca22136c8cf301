"""Private consumers: read topics outside the workers' consumer group.

Tools, checkpoints, shared training and the benchmarks read topics without joining the
scorer's group: a member of that group would take partitions away from the workers. Each
gets a fresh, unique group id (it is never used to commit) and the settings' security
configuration; nothing else differs between them, so they are built here once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from scorer.kafka.logs import client_logging
from scorer.settings import Settings

__all__ = ["private_consumer", "read_partition"]


def private_consumer(settings: Settings, purpose: str, from_start: bool = True, **config: Any) -> Consumer:
    """A consumer in a group of its own named after ``purpose``; never commits.

    ``config`` adds or overrides librdkafka properties (``session.timeout.ms`` for a
    subscribing tool that should join quickly, ``fetch.wait.max.ms`` and so on).
    """
    return Consumer(
        {
            **settings.kafka_config(),
            **client_logging(),
            "group.id": f"{settings.app_id}-{purpose}-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest" if from_start else "latest",
            **config,
        }
    )


def read_partition(settings: Settings, topic: str, partition: int, timeout_s: float, key: bytes | None = None) -> list[bytes]:
    """Every non-null value in ``topic``/``partition`` (under ``key``, if given), oldest first, up to its end now."""
    consumer = private_consumer(settings, "reader")
    try:
        tp = TopicPartition(topic, partition)
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
        if high <= low:
            return []
        consumer.assign([TopicPartition(topic, partition, low)])
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
            if (key is None or message.key() == key) and message.value() is not None:
                values.append(message.value())
        return values
    finally:
        consumer.close()
