"""Integration fixtures: a real embedded broker, started by the tests themselves."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from scorer.tools import ApacheKafka, EmbeddedBroker, free_port, install_kafka, start_worker, stop_process, wait_until_assigned
from scorer.settings import Settings
from scorer.kafka import create_topics


#: Which broker the broker tests run on: ``kafka`` (the pinned Apache Kafka of
#: deploy/kafka/pom.xml, what users run; the default) or ``embedded`` (Tansu, the demo's).
TEST_BROKER = os.environ.get("SCORER_TEST_BROKER", "kafka")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if TEST_BROKER == "embedded":
        log = tmp_path_factory.mktemp("broker") / "broker.log"
        with EmbeddedBroker(free_port(), log_path=log) as embedded:
            yield embedded
        return
    if TEST_BROKER != "kafka":
        raise pytest.UsageError(f"SCORER_TEST_BROKER must be kafka or embedded, not {TEST_BROKER!r}")
    with ApacheKafka(tmp_path_factory.mktemp("kafka"), libs=install_kafka()) as kafka:
        yield kafka


@pytest.fixture
def settings(broker: Any, tmp_path: Path) -> Settings:
    return isolated_settings(broker.bootstrap, tmp_path)


def isolated_settings(bootstrap: str, tmp_path: Path) -> Settings:
    """Fresh topic and group names per test, so tests never see each other's data."""
    return Settings(
        broker=bootstrap,
        partitions=4,
        web_port=free_port(),
        data_dir=str(tmp_path / "data"),
        store="memory",
        # The embedded broker forms a group in about half the session timeout.
        session_timeout_s=6.0,
        heartbeat_interval_s=1.0,
        commit_interval_s=0.5,
    ).isolated(uuid.uuid4().hex[:8])


class RunningWorker:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.log = log
        self.process = start_worker(settings, log)
        try:
            wait_until_assigned(settings, self.process, timeout_s=90)
        except Exception:
            self.stop()
            raise

    def stop(self) -> int:
        return stop_process(self.process)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker_for(tmp_path: Path):
    started: list[RunningWorker] = []

    def start(settings: Settings) -> RunningWorker:
        create_topics(settings)
        worker = RunningWorker(settings, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def producer(settings: Settings) -> Producer:
    # murmur2, like Kafka's Java client: the partitioner the scorer documents for producers.
    return Producer({"bootstrap.servers": settings.broker, "linger.ms": 5, "partitioner": "murmur2_random"})


def consume(settings: Settings, topic: str, expected: int, timeout_s: float = 60.0) -> list:
    """Read ``topic`` from the start until ``expected`` messages arrived or time ran out."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.broker,
            "group.id": f"check-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                messages.append(message)
    finally:
        consumer.close()
    return messages


def user_status(settings: Settings, user: str) -> int:
    """HTTP status of ``GET /users/{user}`` on the worker: 200 for a user in state, 404 otherwise."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/users/{user}", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def wait_for_health(settings: Settings, predicate: Any, what: str, timeout_s: float = 60.0, poll_s: float = 0.05) -> dict:
    """Poll the worker's ``/health`` until ``predicate(document)`` holds; fail saying ``what`` was awaited."""
    from scorer.tools.supervise import health

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc = health(settings)
        if doc and predicate(doc):
            return doc
        time.sleep(poll_s)
    raise AssertionError(f"timed out waiting for {what}: {health(settings)}")


def commit_positions(settings) -> list[tuple[int, int]]:
    """(committed, end) for every clickstream partition.

    A partition that received nothing has end 0 and no committed offset
    (librdkafka reports OFFSET_INVALID, -1001); it counts as committed to 0.
    """
    consumer = Consumer({**settings.kafka_config(), "group.id": settings.app_id, "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(settings.topic_clickstream, p) for p in range(settings.partitions)]
        committed = consumer.committed(partitions, timeout=10)
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions]
        return [(max(c.offset, 0) if end == 0 else c.offset, end) for c, end in zip(committed, ends)]
    finally:
        consumer.close()
