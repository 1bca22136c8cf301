"""Clicks produced by any Kafka client come back as valid scores, keyed by user."""

import json
from pathlib import Path

import jsonschema
import orjson

from tests.integration.conftest import consume, producer

SCORE_SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "events/schemas/propensity-score.schema.json").read_text())
T0 = 1_767_225_600_000


def test_every_click_is_scored_under_its_users_key(settings, start_worker_for):
    worker = start_worker_for(settings)
    out = producer(settings)
    clicks = {}
    for i in range(120):
        user = f"user-{i % 6}"
        ts = T0 + i * 20_000
        event = {"event_id": f"c{i}", "user_id": user, "ts": ts, "type": "product_view", "item_id": f"i{i % 9}", "price": 12.5}
        clicks[event["event_id"]] = user
        out.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(event))
        if i % 15 == 14:
            order = {"event_id": f"p{i}", "user_id": user, "ts": ts + 5_000, "order_id": f"o{i}", "items": [{"item_id": f"i{i % 9}", "price": 12.5}]}
            out.produce(settings.topic_purchases, key=user.encode(), value=orjson.dumps(order))
    out.produce(settings.topic_clickstream, key=b"user-0", value=b"not json at all")
    out.flush(10)

    scores = consume(settings, settings.topic_scores_propensity, expected=len(clicks))
    assert len(scores) == len(clicks), worker.log_text()[-3000:]
    seen = set()
    for message in scores:
        doc = orjson.loads(message.value())
        jsonschema.validate(doc, SCORE_SCHEMA)
        assert message.key() == doc["user_id"].encode() == clicks[doc["event_id"]].encode()
        seen.add(doc["event_id"])
    assert seen == set(clicks)
    # Purchases taught the model: the last versions count learned examples.
    assert max(int(orjson.loads(m.value())["model_version"].rsplit(".", 1)[1]) for m in scores) > 0

    [dead] = consume(settings, settings.topic_dlq, expected=1)
    headers = dict(dead.headers())
    assert dead.value() == b"not json at all"
    assert headers["scorer.reason"] == b"malformed_json"
    assert headers["scorer.source.topic"] == settings.topic_clickstream.encode()
