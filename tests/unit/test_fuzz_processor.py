"""Malformed input never escapes the processor: it is dead-lettered with a reason, valid events are scored."""

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from online_models import PropensityModel, ScoringPipeline
from streams.processor import EventProcessor
from streams.settings import Settings
from streams.state import MemoryStore, RecordCache
from tests.fakes import MemoryPublisher

SETTINGS = Settings()
T0 = 1_767_225_600_000

valid_clicks = st.builds(
    lambda i, kind: {"event_id": f"ok-{i}", "user_id": f"u{i % 5}", "ts": T0 + i, "type": kind, "item_id": f"i{i % 3}"},
    st.integers(0, 10**9),
    st.sampled_from(["page_view", "product_view", "add_to_cart", "search"]),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # what JSON encoders can write
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
broken_fields = st.fixed_dictionaries(
    {},
    optional={
        "event_id": json_values,
        "user_id": json_values,
        "ts": json_values,
        "type": json_values,
        "price": json_values,
        "items": json_values,
    },
)
# Picked by index so that failure reports do not print 70 kB of payload.
SPECIAL = (
    b'{"event_id": "x", "user_id": "u", "ts": NaN, "type": "search"}',
    b"\xff\xfe\xfd",
    orjson.dumps({"event_id": "x", "user_id": "u", "ts": T0, "type": "search", "query": "q" * 70_000}),
)
malformed = st.one_of(
    st.binary(max_size=64).filter(lambda b: not b.strip().startswith(b"{")),
    st.integers(0, len(SPECIAL) - 1).map(SPECIAL.__getitem__),
    broken_fields.map(orjson.dumps),
)


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
