"""Duplicate scores a ``read_committed`` consumer sees after a SIGKILL, with and without Kafka transactions.

    python benchmarks/transactions.py [--events 3000] [--rate 300]

The worker cannot publish in a transaction (Faust consumes and commits with aiokafka, the
scores go out through librdkafka: see the README's Delivery), so this measures what the same
processing code does in a plain confluent-kafka loop, on the pinned Apache Kafka, in two modes:

``plain``
    at least once, as the worker: outputs flushed, then offsets committed, every 0.5 s;
``transactional``
    each poll's outputs (scores, lists, changelog) and its input offsets in one transaction
    (``send_offsets_to_transaction`` with the consumer's group metadata), so a kill aborts
    what the transaction held and the next run, fencing the old producer by its
    ``transactional.id``, starts from the offsets committed with the last outputs.

Each mode: a loop child process consumes clicks produced at ``--rate``, is SIGKILLed half way
and started again; then the scores topic is read with ``read_committed`` and every click is
checked for a score (losses) and for more than one (duplicates). The restarted loop has no
user state (this measures delivery, not state restore).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from scorer.kafka import create_topics
from scorer.scoring import MemoryStore
from scorer.settings import Settings
from scorer.tools import ApacheKafka, install_kafka
from scorer.worker import EventProcessor, RecordCache, make_pipeline


class Outputs:
    """The publisher interface :class:`EventProcessor` writes to, over one librdkafka producer."""

    def __init__(self, settings: Settings, transactional_id: str | None) -> None:
        config: dict[str, Any] = {**settings.kafka_config(), "linger.ms": 5, "partitioner": "murmur2_random"}
        if transactional_id:
            config["transactional.id"] = transactional_id
        self.producer = Producer(config)

    def produce(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None, headers: Any = None) -> None:
        kwargs: dict[str, Any] = {"key": key, "value": value}
        if partition is not None:
            kwargs["partition"] = partition
        if headers:
            kwargs["headers"] = headers
        self.producer.produce(topic, **kwargs)

    def poll(self) -> None:
        self.producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> None:
        assert self.producer.flush(timeout_s) == 0


def run_loop(settings: Settings, transactional: bool) -> None:
    """The child: consume, process, publish; until killed."""
    outputs = Outputs(settings, f"{settings.app_id}-tx" if transactional else None)
    changelog = f"{settings.app_id}-changelog"
    cache = RecordCache(MemoryStore(), lambda p, k, v: outputs.produce(changelog, k, v, partition=p), outputs.flush)
    processor = EventProcessor(settings, make_pipeline(settings, "tx"), cache, outputs)  # type: ignore[arg-type]
    consumer = Consumer(
        {
            **settings.kafka_config(),
            "group.id": settings.app_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([settings.topic_clickstream])
    if transactional:
        outputs.producer.init_transactions(30)
    print("ready", flush=True)
    last_commit = time.monotonic()
    while True:
        messages = [m for m in consumer.consume(200, timeout=0.2) if m.error() is None]
        if not messages:
            continue
        if transactional:
            outputs.producer.begin_transaction()
        for m in messages:
            processor.process(m.topic(), m.partition(), m.offset(), m.key(), m.value())
        if transactional:
            cache.flush()
            positions = consumer.position(consumer.assignment())
            outputs.producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
            outputs.producer.commit_transaction(30)
        elif time.monotonic() - last_commit >= settings.commit_interval_s:
            cache.flush()
            consumer.commit(asynchronous=False)
            last_commit = time.monotonic()


def start_loop(settings: Settings, transactional: bool, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SCORER_BROKER": settings.broker}
    args = [sys.executable, __file__, "--child", settings.app_id, "--transactional" if transactional else "--plain"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=open(log, "ab"))
    assert process.stdout is not None and process.stdout.readline().strip() == b"ready", f"see {log}"
    return process


def scores_read_committed(settings: Settings, expected: int, timeout_s: float = 60.0) -> collections.Counter[str]:
    consumer = Consumer(
        {**settings.kafka_config(), "group.id": f"check-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest",
         "enable.auto.commit": False, "isolation.level": "read_committed"}
    )
    consumer.subscribe([settings.topic_scores_propensity])
    counts: collections.Counter[str] = collections.Counter()
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    # Past every click, then 3 s without anything new (duplicates come after the first scores).
    while time.monotonic() < deadline and (len(counts) < expected or time.monotonic() - quiet_since < 3.0):
        for m in consumer.consume(500, timeout=0.5):
            if m.error() is None and m.value() is not None:
                counts[orjson.loads(m.value())["event_id"]] += 1
                quiet_since = time.monotonic()
    consumer.close()
    return counts


def measure(kafka: ApacheKafka, transactional: bool, events: int, rate: float, log: Path) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    settings = Settings(broker=kafka.bootstrap, partitions=4, commit_interval_s=0.5).isolated(suffix)
    create_topics(settings)
    changelog = NewTopic(f"{settings.app_id}-changelog", num_partitions=settings.partitions, replication_factor=1)
    admin = AdminClient(settings.kafka_config())
    admin.create_topics([changelog])[changelog.topic].result(30)
    loop = start_loop(settings, transactional, log)
    producer = Producer({**settings.kafka_config(), "linger.ms": 5, "partitioner": "murmur2_random"})
    started = time.monotonic()
    for i in range(events):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        user = f"user-{i % 50}"
        click = {"event_id": f"c{i}", "user_id": user, "ts": 1_767_225_600_000 + i * 1000, "type": "product_view", "item_id": f"i{i % 9}"}
        producer.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(click))
        producer.poll(0)
        if i == events // 2:
            loop.send_signal(signal.SIGKILL)
            loop.wait()
            loop = start_loop(settings, transactional, log)
    producer.flush(30)
    try:
        counts = scores_read_committed(settings, events)
    finally:
        loop.send_signal(signal.SIGKILL)
        loop.wait()
    return {
        "mode": "transactional" if transactional else "plain",
        "events": events,
        "lost": sum(1 for i in range(events) if f"c{i}" not in counts),
        "duplicates": sum(n - 1 for n in counts.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--child")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--transactional", action="store_true")
    mode.add_argument("--plain", action="store_true")
    args = parser.parse_args()
    if args.child:
        suffix = args.child.rsplit("-", 1)[1]
        run_loop(Settings.from_env(partitions=4, commit_interval_s=0.5).isolated(suffix), args.transactional)
        return
    run_dir = Path(tempfile.mkdtemp(prefix="scorer-tx-"))
    with ApacheKafka(run_dir / "kafka", libs=install_kafka()) as kafka:
        for transactional in (False, True):
            print(orjson.dumps(measure(kafka, transactional, args.events, args.rate, run_dir / "loop.log")).decode(), flush=True)


if __name__ == "__main__":
    main()
