"""``scorer bench``: throughput, latency, memory and state size, on the embedded broker or real Kafka.

One invocation pre-produces the same realistic mix (the built-in traffic
generator) and measures, on it:

(a) the Faust ceiling: a bare agent that decodes and discards;
(b) the full scorer: a real worker process (RocksDB table), from first to last message;
(c) the same processing code in a plain confluent-kafka loop without Faust;

then end-to-end latency (input record's produce time to its score's produce
time) with a fresh worker fed at half of (b)'s rate, the worker's peak RSS,
and the mean serialized bytes of a user's record. Nothing here asserts a speed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from scorer.datasets import TrafficGenerator
from scorer.tools import ApacheKafka, EmbeddedBroker, free_port, install_kafka, health, send_events, start_worker, stop_process, wait_until_assigned
from scorer.worker import EventProcessor, make_pipeline, make_recommender, RecordCache
from scorer.kafka import create_topics, private_consumer, Publisher
from scorer.settings import Settings
from scorer.scoring import MemoryStore

Report = Callable[[str], None]


def _fresh(settings: Settings, tag: str) -> Settings:
    return settings.isolated(f"{tag}-{uuid.uuid4().hex[:6]}").replace(web_port=free_port())


def _produce(settings: Settings, events: int, users: int, items: int, rate: float | None = None) -> int:
    create_topics(settings)
    generated = TrafficGenerator(users=users, items=items, seed=7).take(events)
    return send_events(Publisher(settings), settings, generated, rate=rate)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_ceiling(settings: Settings, expected: int) -> float:
    process = subprocess.Popen(
        [sys.executable, "-m", "scorer.bench.ceiling", settings.broker, f"ceiling-{uuid.uuid4().hex[:6]}", str(expected), *settings.input_topics[:2]],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if b"{" not in line:
            raise RuntimeError("the ceiling agent exited without a result")
        # Faust's worker may put terminal control codes before the line.
        result = orjson.loads(line[line.index(b"{") :])
        return expected / result["seconds"]
    finally:
        stop_process(process)


def _consumed(doc: dict[str, Any] | None) -> int:
    return sum(doc["consumed"].values()) if doc else 0


def measure_worker(settings: Settings, expected: int, log: Path) -> dict[str, float]:
    """Run a worker on pre-produced input; events/s from its first to its last message."""
    process = start_worker(settings, log)
    try:
        wait_until_assigned(settings, process, timeout_s=120)
        elapsed = _time_to_consume(lambda: _consumed(health(settings)), expected)
        done = _consumed(health(settings))
        return {"eps": done / elapsed if elapsed > 0 else float("nan"), "peak_rss_mb": _peak_rss_mb(process.pid)}
    finally:
        stop_process(process)


def _time_to_consume(progress: Callable[[], int], expected: int, timeout_s: float = 600) -> float:
    """Seconds from the last poll that saw nothing consumed to the poll that saw all of it."""
    deadline = time.monotonic() + timeout_s
    idle_since = time.monotonic()
    started = None
    while time.monotonic() < deadline:
        done = progress()
        now = time.monotonic()
        if not done:
            idle_since = now
        elif started is None:
            started = idle_since
        if done >= expected:
            return now - (started if started is not None else idle_since)
        time.sleep(0.05)
    raise TimeoutError(f"only part of {expected:,} events was consumed within {timeout_s:.0f}s")


def measure_plain_loop(settings: Settings, expected: int) -> dict[str, float]:
    """The worker's processing code in a bare confluent-kafka loop, changelog included.

    Its store, a plain dict, then gives the state size: the mean serialized
    record over every user held at the end, each counted once (the worker's
    flush histogram counts active users once per flush, and so overstates it).
    """
    publisher = Publisher(settings)
    changelog = f"{settings.app_id}-plain-changelog"
    # Real Kafka creates no topic on first use (the test broker and compose turn that off).
    spec = NewTopic(changelog, num_partitions=settings.partitions, replication_factor=settings.replication_factor)
    admin = AdminClient(settings.kafka_config())
    admin.create_topics([spec])[changelog].result(30)
    store = MemoryStore()
    cache = RecordCache(store, lambda p, k, v: publisher.produce(changelog, k, v), publisher.flush)
    processor = EventProcessor(
        settings,
        make_pipeline(settings, "plain"),
        cache,
        publisher,
        recommender=make_recommender(settings),
    )
    consumer = private_consumer(settings, "bench-plain")
    consumer.assign([TopicPartition(t, p, 0) for t in settings.input_topics[:2] for p in range(settings.partitions)])
    done = 0
    started = 0.0
    last_flush = time.monotonic()
    process = processor.process
    try:
        while done < expected:
            for message in consumer.consume(1000, timeout=1.0):
                if message.error():
                    continue
                if not done:
                    started = time.perf_counter()
                process(message.topic(), message.partition(), message.offset(), message.key(), message.value())
                done += 1
            publisher.poll()
            if time.monotonic() - last_flush > settings.commit_interval_s:
                cache.flush()
                last_flush = time.monotonic()
        cache.flush()
        eps = done / (time.perf_counter() - started)
        sizes = [len(value) for value in store.values()]
        return {"eps": eps, "state_bytes_per_user": sum(sizes) / len(sizes) if sizes else float("nan")}
    finally:
        consumer.close()


def _erase_requests(settings: Settings, users: int, count: int, interval_s: float, done: threading.Event) -> None:
    """Erase ``count`` users of the generated population, one every ``interval_s``."""
    out = Publisher(settings)
    for i in range(count):
        if done.wait(interval_s):
            break
        user = f"user-{(i * 7919) % users}"
        request = {"event_id": f"bench-erase-{i}", "user_id": user, "ts": int(time.time() * 1000), "action": "erase"}
        out.produce(settings.topic_consent, user.encode(), orjson.dumps(request))
        out.flush()


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


def measure_latency(settings: Settings, rate: float, seconds: float, users: int, items: int, log: Path) -> dict[str, Any]:
    """Feed a fresh worker at ``rate`` events/s; produce-time to score-produce-time percentiles.

    Meanwhile two users a second ask for erasure: from each request's produce
    time to the produce time of its tombstone on the scores topic.
    """
    create_topics(settings)
    process = start_worker(settings, log)
    try:
        wait_until_assigned(settings, process, timeout_s=120)
        events = int(rate * seconds)
        sender = threading.Thread(target=_produce, args=(settings, events, users, items, rate))
        stop_erasing = threading.Event()
        eraser = threading.Thread(target=_erase_requests, args=(settings, users, int(seconds * 2), 0.5, stop_erasing))
        sender.start()
        eraser.start()
        produced: dict[str, float] = {}
        # Topics are read in no particular order relative to each other: pair requests and tombstones at the end.
        erase_requests: dict[bytes, list[float]] = {}
        tombstones: dict[bytes, list[float]] = {}
        consumer = private_consumer(settings, "bench-latency", **{"session.timeout.ms": 6000})
        consumer.subscribe([settings.topic_clickstream, settings.topic_scores_propensity, settings.topic_consent])
        scores: list[tuple[str, float]] = []

        def read(timeout_s: float) -> None:
            for message in consumer.consume(1000, timeout=timeout_s):
                if message.error():
                    continue
                ts = message.timestamp()[1] / 1000
                if message.topic() == settings.topic_consent:
                    erase_requests.setdefault(message.key(), []).append(ts)
                elif message.value() is None:
                    tombstones.setdefault(message.key(), []).append(ts)
                elif message.topic() == settings.topic_clickstream:
                    produced[orjson.loads(message.value())["event_id"]] = ts
                else:
                    scores.append((orjson.loads(message.value())["event_id"], ts))

        deadline = time.monotonic() + seconds + 60
        while time.monotonic() < deadline:
            read(0.5)
            if not sender.is_alive() and len(scores) >= len(produced) > 0:
                break
        stop_erasing.set()
        sender.join()
        eraser.join()
        # The tombstones of the latest requests.
        drain_until = time.monotonic() + 2
        while time.monotonic() < drain_until:
            read(0.2)
        consumer.close()
        erasures = []
        for key, requested in erase_requests.items():
            answers = sorted(tombstones.get(key, []))
            for ts in sorted(requested):
                answer = next((t for t in answers if t >= ts), None)
                if answer is not None:
                    erasures.append((answer - ts) * 1000)
                    answers.remove(answer)
        latencies = [(ts - produced[event_id]) * 1000 for event_id, ts in scores if event_id in produced]
        if not latencies:
            raise RuntimeError(f"no scores matched their input in the latency run; see {log}")
        result: dict[str, Any] = {**_percentiles(latencies), "scores": len(latencies)}
        if erasures:
            result["erasure_ms"] = {**_percentiles(erasures), "requests": len(erasures)}
        return result
    finally:
        stop_process(process)


def _broker(kind: str, data: Path) -> EmbeddedBroker | ApacheKafka:
    """A fresh broker of ``kind`` for one bench run (not started)."""
    if kind == "embedded":
        return EmbeddedBroker(free_port(), log_path=data / "broker.log")
    if kind == "kafka":
        run_dir = data / f"kafka-{uuid.uuid4().hex[:6]}"
        return ApacheKafka(run_dir, libs=install_kafka())
    raise ValueError(f"broker kind must be embedded or kafka, not {kind!r}")


def run_bench(
    base: Settings,
    events: int,
    users: int,
    items: int,
    latency_seconds: float,
    workers: int,
    report: Report,
    broker_kind: str = "embedded",
) -> dict[str, Any]:
    data = Path(base.data_dir) / "bench"
    with _broker(broker_kind, data) as broker:
        report(f"broker: {broker_kind} on {broker.bootstrap}")
        settings = base.replace(
            broker=broker.bootstrap, data_dir=str(data), session_timeout_s=6.0, store="rocksdb"
        )
        input_settings = _fresh(settings, "input")
        report(f"producing {events:,} events ({users:,} users, {items:,} items)")
        _produce(input_settings, events, users, items)

        report("(a) Faust ceiling: bare agent, decode and discard")
        ceiling = measure_ceiling(input_settings, events)
        report(f"    {ceiling:,.0f} events/s")

        report("(b) full scorer: worker process, RocksDB table")
        scorer_settings = _fresh(settings, "scorer").replace(
            topic_clickstream=input_settings.topic_clickstream, topic_purchases=input_settings.topic_purchases
        )
        create_topics(scorer_settings)
        scorer = measure_worker(scorer_settings, events, data / "worker-b.log")
        report(f"    {scorer['eps']:,.0f} events/s, peak RSS {scorer['peak_rss_mb']:.0f} MB")

        report("(c) the same code in a plain confluent-kafka loop")
        plain = measure_plain_loop(scorer_settings.replace(app_id=f"plain-{uuid.uuid4().hex[:6]}"), events)
        report(f"    {plain['eps']:,.0f} events/s, {plain['state_bytes_per_user']:,.0f} bytes of state per user")

        rate = max(scorer["eps"] / 2, 1.0)
        report(f"latency: fresh worker fed at {rate:,.0f} events/s for {latency_seconds:.0f}s")
        latency = measure_latency(_fresh(settings, "latency"), rate, latency_seconds, users, items, data / "worker-lat.log")
        report(f"    p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms, p99 {latency['p99']:.1f} ms")
        if "erasure_ms" in latency:
            erasure = latency["erasure_ms"]
            report(f"    erasure request to tombstone: p50 {erasure['p50']:.1f} ms, p99 {erasure['p99']:.1f} ms ({erasure['requests']} requests)")

        result: dict[str, Any] = {
            "broker": broker_kind,
            "events": events,
            "users": users,
            "items": items,
            "ceiling_eps": ceiling,
            "scorer_eps": scorer["eps"],
            "plain_loop_eps": plain["eps"],
            "ratio_scorer_to_ceiling": scorer["eps"] / ceiling,
            "ratio_scorer_to_plain_loop": scorer["eps"] / plain["eps"],
            "latency_ms": {k: latency[k] for k in ("p50", "p95", "p99")},
            "latency_rate_eps": rate,
            "erasure_ms": latency.get("erasure_ms"),
            "peak_rss_mb": scorer["peak_rss_mb"],
            "state_bytes_per_user": plain["state_bytes_per_user"],
        }
        if workers > 1:
            report(f"scale: {workers} workers on the same input")
            result["workers"] = workers
            result["scaled_eps"] = measure_scaled(settings, input_settings, events, workers, data)
            report(f"    {result['scaled_eps']:,.0f} events/s in total")
        return result


def measure_scaled(settings: Settings, input_settings: Settings, events: int, workers: int, data: Path) -> float:
    group = _fresh(settings, "scaled").replace(
        topic_clickstream=input_settings.topic_clickstream, topic_purchases=input_settings.topic_purchases
    )
    create_topics(group)
    replicas = [group.replace(web_port=free_port(), data_dir=str(data / f"replica-{i}")) for i in range(workers)]
    processes = [start_worker(r, data / f"worker-scaled-{i}.log") for i, r in enumerate(replicas)]
    try:
        for replica, process in zip(replicas, processes):
            wait_until_assigned(replica, process, timeout_s=120)
        # Wait for the rebalance that gives every replica a share.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shares = [len((health(r) or {}).get("assigned_partitions", [])) for r in replicas]
            if all(shares) and len(set(shares)) <= 2:
                break
            time.sleep(0.2)
        elapsed = _time_to_consume(lambda: sum(_consumed(health(r)) for r in replicas), events)
        return events / elapsed
    finally:
        for process in processes:
            stop_process(process)
