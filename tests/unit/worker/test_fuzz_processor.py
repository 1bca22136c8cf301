"""Malformed input never escapes the processor: it is dead-lettered with a reason, valid events are scored."""

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from scorer.scoring import MemoryStore, ScoringPipeline

from scorer.propensity import PropensityModel
from scorer.worker import EventProcessor, RecordCache
from scorer.settings import Settings
from tests.fakes import MemoryPublisher
from tests.strategies import malformed, valid_clicks

SETTINGS = Settings()

@settings(max_examples=60)
@given(st.lists(st.one_of(valid_clicks.map(lambda d: ("valid", d)), malformed.map(lambda b: ("bad", b))), max_size=40))
def test_every_message_is_either_scored_or_dead_lettered(messages):
    publisher = MemoryPublisher()
    cache = RecordCache(MemoryStore(), lambda p, k, v: None, publisher.flush)
    processor = EventProcessor(SETTINGS, ScoringPipeline(PropensityModel("logreg", "fuzz")), cache, publisher)
    seen_ids: set[str] = set()
    for offset, (kind, payload) in enumerate(messages):
        raw = orjson.dumps(payload) if kind == "valid" else payload
        key = payload["user_id"].encode() if kind == "valid" else b"u0"
        dead_before = len(publisher.on(SETTINGS.topic_dlq))
        scored_before = len(publisher.on(SETTINGS.topic_scores_propensity))
        processor.process(SETTINGS.topic_clickstream, 0, offset, key, raw)  # must not raise
        dead = len(publisher.on(SETTINGS.topic_dlq)) - dead_before
        scored = len(publisher.on(SETTINGS.topic_scores_propensity)) - scored_before
        if kind == "bad":
            assert (dead, scored) == (1, 0), raw[:200]
            [record] = publisher.on(SETTINGS.topic_dlq)[dead_before:]
            assert record.value == raw and record.key == key and record.headers["scorer.reason"]
            assert record.headers["scorer.source.offset"] == str(offset).encode()
        else:
            repeat = (payload["user_id"], payload["event_id"]) in seen_ids
            assert (dead, scored) == ((0, 0) if repeat else (0, 1))
            seen_ids.add((payload["user_id"], payload["event_id"]))
