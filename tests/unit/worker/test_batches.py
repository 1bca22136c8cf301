"""Batched application: the same scores as one event at a time, at most one list per user per batch."""

from collections import Counter

import orjson

from scorer.datasets.synthetic import TrafficGenerator
from scorer.events import partition_for
from scorer.propensity import PropensityModel
from scorer.scoring import MemoryStore, ScoringPipeline
from scorer.settings import Settings
from scorer.worker import EventProcessor, RecordCache
from scorer.worker.wiring import make_recommender
from tests.fakes import MemoryPublisher

SETTINGS = Settings()


def _processor():
    publisher = MemoryPublisher()
    cache = RecordCache(MemoryStore(), lambda p, k, v: None, publisher.flush)
    processor = EventProcessor(
        SETTINGS,
        ScoringPipeline(PropensityModel("logreg", lineage="t")),
        cache,
        publisher,
        recommender=make_recommender(SETTINGS),
        clock=lambda: 1_800_000_000.0,
    )
    return processor, publisher


def _accepted(processor, count):
    out = []
    for offset, (kind, doc) in enumerate(TrafficGenerator(users=60, items=80, seed=7).take(count)):
        key = doc["user_id"].encode()
        topic = SETTINGS.topic_clickstream if kind == "click" else SETTINGS.topic_purchases
        accepted = processor.accept(topic, partition_for(key, 8), offset, key, orjson.dumps(doc))
        assert accepted is not None
        out.append(accepted)
    return out


def _scores(publisher):
    return [(r.key, orjson.loads(r.value)["event_id"], orjson.loads(r.value)["score"]) for r in publisher.on(SETTINGS.topic_scores_propensity)]


def test_batches_publish_the_same_scores_and_one_list_per_user_per_batch():
    one, one_out = _processor()
    for accepted in _accepted(one, 3_000):
        one.apply(accepted)
    batched, batched_out = _processor()
    events = _accepted(batched, 3_000)
    size = 100
    lists_per_batch = []
    for start in range(0, len(events), size):
        before = len(batched_out.on(SETTINGS.topic_scores_recommendations))
        batched.apply_batch(events[start : start + size])
        lists = batched_out.on(SETTINGS.topic_scores_recommendations)[before:]
        lists_per_batch.append(Counter(record.key for record in lists))
    assert _scores(batched_out) == _scores(one_out)
    assert len(_scores(one_out)) > 1_000
    assert all(max(counts.values(), default=1) == 1 for counts in lists_per_batch)
    # Users who got a list one event at a time get one in the same batch when batched.
    sequential = one_out.on(SETTINGS.topic_scores_recommendations)
    assert len(batched_out.on(SETTINGS.topic_scores_recommendations)) < len(sequential)
    by_event = {orjson.loads(r.value)["event_id"]: r.key for r in sequential}
    for start, counts in zip(range(0, len(events), size), lists_per_batch):
        window = {e.event.event_id for e in events[start : start + size]}
        wanted = {key for event_id, key in by_event.items() if event_id in window}
        assert wanted == set(counts)
    assert batched.accounting()["unaccounted"] == 0


def test_an_erasure_in_a_batch_is_published_after_the_users_earlier_outputs():
    processor, publisher = _processor()
    click = {"event_id": "c1", "user_id": "u9", "ts": 1_767_225_600_000, "type": "product_view", "item_id": "i1"}
    erase = {"event_id": "k1", "user_id": "u9", "ts": 1_767_225_601_000, "action": "erase"}
    batch = [
        processor.accept(SETTINGS.topic_clickstream, 0, 0, b"u9", orjson.dumps(click)),
        processor.accept(SETTINGS.topic_consent, 0, 0, b"u9", orjson.dumps(erase)),
    ]
    processor.apply_batch(batch)
    for topic in (SETTINGS.topic_scores_propensity, SETTINGS.topic_scores_recommendations):
        last = [record for record in publisher.records if record.topic == topic][-1]
        assert last.key == b"u9" and last.value is None
    # The same request redelivered (its offset not committed before a crash) is recognised
    # as applied, and its tombstones go out again.
    before = len(publisher.on(SETTINGS.topic_scores_propensity))
    processor.apply_batch([processor.accept(SETTINGS.topic_consent, 0, 0, b"u9", orjson.dumps(erase))])
    again = publisher.on(SETTINGS.topic_scores_propensity)[before:]
    assert [record.value for record in again] == [None]
    assert processor.replayed == 1 and processor.accounting()["unaccounted"] == 0
