"""Helpers of the worker tests on real Apache Kafka: traffic at a rate, scores counted per event.

Every check here is by event id: an event is *accepted* once the broker acknowledged it to
the producer, *lost* if no score of it was ever published, and *duplicated* once for every
score beyond the first.
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from scorer.settings import Settings

T0 = 1_767_225_600_000
#: librdkafka's log lines (connection refused while the broker is down) go through logging,
#: so pytest shows them only with a failure.
RDKAFKA_LOG = logging.getLogger("rdkafka")


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and Path(home, "bin", "java").is_file())


def click(i: int, users: int) -> dict[str, Any]:
    user = f"user-{i % users}"
    return {"event_id": f"c{i}", "user_id": user, "ts": T0 + i * 1_000, "type": "product_view", "item_id": f"i{i % 7}"}


@dataclass
class Traffic:
    """Clicks produced at ``rate`` per second on a thread, until ``count`` or ``stop()``.

    The producer retries through a broker outage (librdkafka keeps records queued for
    ``message.timeout.ms``), so records sent while the broker is down are accepted late.
    """

    settings: Settings
    count: int
    rate: float
    users: int = 40
    accepted: set[str] = field(default_factory=set)
    failed: list[KafkaError] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    #: When the broker acknowledged each click: a click is the worker's from then on.
    acked_at: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Traffic":
        self._thread.start()
        return self

    def _run(self) -> None:
        producer = Producer(
            {**self.settings.kafka_config(), "logger": RDKAFKA_LOG, "linger.ms": 5, "partitioner": "murmur2_random", "message.timeout.ms": 120_000}
        )
        started = time.monotonic()
        for i in range(self.count):
            if self._stop.is_set():
                break
            delay = started + i / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            event = click(i, self.users)
            # The key is the user; the event id rides along for the delivery report only.
            producer.produce(
                self.settings.topic_clickstream,
                key=event["user_id"].encode(),
                value=orjson.dumps(event),
                on_delivery=lambda err, msg, eid=event["event_id"]: self._on_delivery(err, eid),
            )
            self.sent_at[event["event_id"]] = time.monotonic()
            producer.poll(0)
        remaining = producer.flush(120)
        assert remaining == 0, f"{remaining} clicks never reached the broker"

    def _on_delivery(self, error: KafkaError | None, event_id: str) -> None:
        if error is None:
            self.accepted.add(event_id)
            self.acked_at[event_id] = time.monotonic()
        else:
            self.failed.append(error)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 150.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the traffic thread did not finish"


class ScoreReader:
    """Reads the scores topic on a thread from the start; when each event's first score came."""

    def __init__(self, settings: Settings, topic: str, isolation: str = "read_uncommitted") -> None:
        self.settings = settings
        self.topic = topic
        self.isolation = isolation
        self.counts: collections.Counter[str] = collections.Counter()
        self.first_seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "ScoreReader":
        self._thread.start()
        return self

    def _run(self) -> None:
        consumer = Consumer(
            {
                **self.settings.kafka_config(),
                "logger": RDKAFKA_LOG,
                "group.id": f"scores-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": self.isolation,
                # Survive the broker's outage without giving up on the topic.
                "topic.metadata.refresh.interval.ms": 1000,
            }
        )
        partitions = consumer.list_topics(self.topic, timeout=30).topics[self.topic].partitions
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        try:
            while not self._stop.is_set():
                for message in consumer.consume(500, timeout=0.2):
                    if message.error() is not None or message.value() is None:
                        continue
                    event_id = orjson.loads(message.value())["event_id"]
                    with self._lock:
                        self.counts[event_id] += 1
                        self.first_seen.setdefault(event_id, time.monotonic())
        finally:
            consumer.close()

    def scored(self) -> set[str]:
        with self._lock:
            return set(self.counts)

    def wait_for(self, event_ids: set[str], timeout_s: float) -> set[str]:
        """Wait until every one of ``event_ids`` is scored; returns those still missing."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            missing = event_ids - self.scored()
            if not missing:
                return set()
            time.sleep(0.2)
        return event_ids - self.scored()

    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.counts.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def read_all(
    config: dict[str, Any], topic: str, *, isolation: str = "read_uncommitted", timeout_s: float = 30.0
) -> list[Message]:
    """Every message from the start of each partition up to its end (the LSO if read_committed)."""
    consumer = Consumer(
        {
            **config,
            "logger": RDKAFKA_LOG,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages: list[Message] = []
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(at_end) < len(partitions):
            assert time.monotonic() < deadline, f"{topic} not read to its end within {timeout_s:.0f} s ({len(messages)} messages)"
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
            elif error is not None:
                raise KafkaException(error)
            else:
                messages.append(message)
        return messages
    finally:
        consumer.close()


def read_scores(settings: Settings, topic: str, isolation: str = "read_uncommitted", timeout_s: float = 30.0) -> collections.Counter[str]:
    """Scores per event id, from the start of each partition to its end (the LSO if read_committed)."""
    messages = read_all(settings.kafka_config(), topic, isolation=isolation, timeout_s=timeout_s)
    return collections.Counter(orjson.loads(m.value())["event_id"] for m in messages if m.value() is not None)
