import orjson

from scorer.scoring import MemoryStore, ScoringPipeline

from scorer.propensity import PropensityModel
from scorer.worker import EventProcessor, RecordCache
from scorer.settings import Settings
from tests.fakes import MemoryPublisher
from tests.strategies import T0

SETTINGS = Settings()


def make_processor(store=None):
    publisher = MemoryPublisher()
    store = store if store is not None else MemoryStore()
    changelog = []
    cache = RecordCache(store, lambda p, k, v: changelog.append((p, k, v)), publisher.flush)
    processor = EventProcessor(
        SETTINGS, ScoringPipeline(PropensityModel("logreg", lineage="t")), cache, publisher, clock=lambda: 1_800_000_000.0
    )
    return processor, publisher, store, changelog


def click(user: str, i: int, ts: int = T0) -> bytes:
    return orjson.dumps({"event_id": f"{user}-{i}", "user_id": user, "ts": ts, "type": "product_view", "item_id": "i1"})


def test_a_click_is_scored_under_the_users_key():
    processor, publisher, _, _ = make_processor()
    processor.process(SETTINGS.topic_clickstream, 3, 10, b"u1", click("u1", 1))
    [record] = publisher.on(SETTINGS.topic_scores_propensity)
    doc = orjson.loads(record.value)
    assert record.key == b"u1"
    assert (doc["user_id"], doc["event_id"], doc["event_ts"], doc["scored_at"]) == ("u1", "u1-1", T0, 1_800_000_000_000)
    assert 0 <= doc["score"] <= 1 and doc["model"] == "logreg"


def test_bad_messages_go_to_the_dead_letter_topic_with_headers():
    processor, publisher, _, _ = make_processor()
    processor.process(SETTINGS.topic_clickstream, 2, 41, b"u1", b"{oops")
    processor.process(SETTINGS.topic_clickstream, 2, 42, b"u2", click("u1", 1))
    processor.process(SETTINGS.topic_clickstream, 2, 43, None, click("u1", 2))
    dead = publisher.on(SETTINGS.topic_dlq)
    assert [d.headers["scorer.reason"] for d in dead] == [b"malformed_json", b"key_mismatch", b"missing_key"]
    assert dead[0].value == b"{oops" and dead[0].key == b"u1"
    assert dead[0].headers["scorer.source.topic"] == SETTINGS.topic_clickstream.encode()
    assert (dead[0].headers["scorer.source.partition"], dead[0].headers["scorer.source.offset"]) == (b"2", b"41")
    assert publisher.on(SETTINGS.topic_scores_propensity) == []
    assert dict(processor.rejected) == {"malformed_json": 1, "key_mismatch": 1, "missing_key": 1}


def test_an_exception_in_the_pipeline_dead_letters_the_event_and_moves_on():
    processor, publisher, _, _ = make_processor()

    def explode(record, event, dimensions=None):
        raise ZeroDivisionError("boom")

    original = processor.pipeline.handle
    processor.pipeline.handle = explode
    processor.process(SETTINGS.topic_clickstream, 0, 1, b"u1", click("u1", 1))
    processor.pipeline.handle = original
    processor.process(SETTINGS.topic_clickstream, 0, 2, b"u1", click("u1", 2))
    [dead] = publisher.on(SETTINGS.topic_dlq)
    assert dead.headers["scorer.reason"] == b"processing_error" and b"boom" in dead.headers["scorer.error"]
    assert len(publisher.on(SETTINGS.topic_scores_propensity)) == 1


def test_changed_users_reach_store_and_changelog_once_per_flush():
    processor, publisher, store, changelog = make_processor()
    for i in range(5):
        processor.process(SETTINGS.topic_clickstream, 1, i, b"u1", click("u1", i, T0 + i))
    processor.process(SETTINGS.topic_clickstream, 4, 0, b"u2", click("u2", 0))
    assert changelog == [] and processor.cache.pending_keys == 2
    assert processor.cache.flush() == 2
    assert sorted((p, k) for p, k, _ in changelog) == [(1, b"u1"), (4, b"u2")]
    # One sync before the single-record tails, one after them.
    assert publisher.flushes == 2
    assert store.get(1, b"u1") == changelog[0][2] or store.get(1, b"u1") == changelog[1][2]
    # The next event for u1 reads the flushed record back from the store.
    processor.process(SETTINGS.topic_clickstream, 1, 5, b"u1", click("u1", 5, T0 + 5))
    assert processor.cache.get(1, b"u1").state.session_events == 6


def test_windows_close_in_event_time_for_users_who_never_come_back():
    processor, _, _, _ = make_processor()
    processor.process(SETTINGS.topic_clickstream, 0, 0, b"gone", click("gone", 0, T0))
    assert processor.pipeline.model.learned == 0
    processor.process(SETTINGS.topic_clickstream, 0, 1, b"other", click("other", 0, T0 + 1_801_000))
    assert processor.pipeline.model.learned == 1
    assert len(processor.cache.get(0, b"gone").pending) == 0


def test_events_redelivered_after_a_restart_are_not_folded_in_twice():
    processor, publisher, store, _ = make_processor()
    for offset in range(3):
        processor.process(SETTINGS.topic_clickstream, 0, offset, b"u1", click("u1", offset, T0 + offset))
    processor.cache.flush()
    # A new worker on the same store: offset 2 arrives again (here with a new event id).
    again, publisher_again, _, _ = make_processor(store)
    again.process(SETTINGS.topic_clickstream, 0, 2, b"u1", click("u1", 99, T0 + 2))
    again.process(SETTINGS.topic_purchases, 0, 2, b"u1", orjson.dumps({"event_id": "p", "user_id": "u1", "ts": T0 + 3, "order_id": "o", "items": [{"item_id": "i1", "price": 1}]}))
    again.process(SETTINGS.topic_clickstream, 0, 3, b"u1", click("u1", 3, T0 + 4))
    assert again.replayed == 1
    assert again.cache.get(0, b"u1").state.session_events == 5
    assert len(publisher_again.on(SETTINGS.topic_scores_propensity)) == 1


def test_the_sweep_deletes_idle_users_with_tombstones_and_keeps_active_ones():
    processor, _, store, changelog = make_processor()
    ttl_ms = 90 * 86_400_000
    processor.process(SETTINGS.topic_clickstream, 0, 0, b"idle", click("idle", 0, T0))
    processor.process(SETTINGS.topic_clickstream, 0, 1, b"active", click("active", 0, T0 + ttl_ms))
    processor.process(SETTINGS.topic_clickstream, 0, 2, b"active", click("active", 1, T0 + ttl_ms + 2))
    processor.cache.flush()
    engine = processor.engine
    counts = list(processor.cache.sweep(0, lambda record: engine.is_idle(record, 0), chunk=1))
    assert counts[-1] == 1
    assert store.get(0, b"idle") is None and processor.cache.get(0, b"idle") is None
    assert processor.cache.get(0, b"active") is not None
    assert (0, b"idle", None) in changelog


def test_a_consent_request_that_fails_is_dead_lettered_with_its_bytes():
    processor, publisher, _, _ = make_processor()

    def explode(*args):
        raise RuntimeError("store down")

    processor.engine.apply_consent = explode
    raw = orjson.dumps({"event_id": "c1", "user_id": "u1", "ts": T0, "action": "erase"})
    processor.process(SETTINGS.topic_consent, 0, 5, b"u1", raw)
    [dead] = publisher.on(SETTINGS.topic_dlq)
    assert dead.value == raw and dead.headers["scorer.reason"] == b"processing_error"
    assert publisher.on(SETTINGS.topic_scores_propensity) == []
