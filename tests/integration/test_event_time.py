"""A backlog on eight partitions, purchases included: the worker learns what the offline run learns.

Clicks and purchases are separate topics. Produced before the worker starts (a backlog,
as after downtime), the broker hands them over in whatever order its fetches return; the
worker must still join the same labels and keep the same features as ``scorer evaluate``'s
engine over the same events. Scores themselves are compared in ``test_offline_equivalence``
(one partition): with eight, the one model learns examples in the order partitions happen
to be read. Live traffic is aligned against the broker ends seen at the last fetch; what
that guarantees is in the README's event-time section.
"""

import time
import urllib.request

import orjson

from scorer.datasets.synthetic import TrafficGenerator
from scorer.events import decode_click, decode_purchase, partition_for
from scorer.scoring import MemoryStore, ScoringEngine, UserRecord
from scorer.worker import USER_TABLE, make_pipeline
from tests.integration.conftest import consume, producer

EVENTS = TrafficGenerator(users=120, items=60, seed=11).take(2_500)


def _offline(settings):
    pipeline = make_pipeline(settings, lineage="offline")
    engine = ScoringEngine(pipeline, MemoryStore())
    for offset, (kind, doc) in enumerate(EVENTS):
        event = (decode_click if kind == "click" else decode_purchase)(orjson.dumps(doc))
        key = event.user_id.encode()
        engine.process(0 if kind == "click" else 1, partition_for(key, settings.partitions), offset, key, event)
    states = {key: record.state.to_fields() for part in engine.store.data.values() for key, record in part.items()}
    return (pipeline.learned, pipeline.learned_positive), states


def _produce(settings, pause_s: float = 0.0):
    out = producer(settings)
    for index, (kind, doc) in enumerate(EVENTS):
        topic = settings.topic_clickstream if kind == "click" else settings.topic_purchases
        out.produce(topic, key=doc["user_id"].encode(), value=orjson.dumps(doc))
        if pause_s and index % 100 == 99:
            out.flush(10)
            time.sleep(pause_s)
    out.flush(10)


def _health(settings) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/health", timeout=10) as response:
        return orjson.loads(response.read())


def _settled(settings, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = _health(settings)
        counts = health["accounting"]
        if counts.get("consumed") == len(EVENTS) and counts["buffered"] == 0:
            return health
        time.sleep(0.5)
    raise AssertionError(f"the worker did not take every event within {timeout_s:.0f} s: {_health(settings)}")


def _states(settings) -> dict:
    changelog = f"{settings.app_id}-{USER_TABLE}-changelog"
    latest = {m.key(): m.value() for m in consume(settings, changelog, expected=100_000, timeout_s=12)}
    return {key: UserRecord.from_bytes(value).state.to_fields() for key, value in latest.items() if value is not None}


def _run(settings, start_worker_for, backlog: bool):
    if backlog:
        from scorer.kafka import create_topics

        create_topics(settings)
        _produce(settings)
        worker = start_worker_for(settings)
    else:
        worker = start_worker_for(settings)
        _produce(settings, pause_s=0.05)
    health = _settled(settings)
    assert health["accounting"]["unaccounted"] == 0
    learned = (health["learned"]["examples"], health["learned"]["positive"])
    assert health["aligned_early"] == 0
    assert worker.stop() == 0
    return learned, _states(settings)


def test_a_backlog_learns_the_labels_and_keeps_the_features_of_the_offline_run(settings, start_worker_for):
    settings = settings.replace(partitions=8)
    expected_learned, expected_states = _offline(settings)
    assert expected_learned[1] > 20 and expected_learned[0] > 500  # purchases close windows as positives

    learned, states = _run(settings, start_worker_for, backlog=True)
    assert learned == expected_learned
    assert states == expected_states
