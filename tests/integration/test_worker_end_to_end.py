import dataclasses
"""Clicks produced by any Kafka client come back as valid scores, keyed by user."""

import json
from pathlib import Path

import jsonschema
import orjson

from tests.integration.conftest import consume, producer

SCORE_SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "scorer/events/schemas/propensity-score.schema.json").read_text())
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


def test_user_view_shows_current_features_and_404_for_strangers(settings, start_worker_for):
    import urllib.error
    import urllib.request

    start_worker_for(settings)
    out = producer(settings)
    view = {"user_id": "u1", "type": "product_view", "item_id": "i1", "category": "c1", "price": 10.0}
    for minute in range(3):
        out.produce(settings.topic_clickstream, key=b"u1", value=orjson.dumps({**view, "event_id": f"v{minute}", "ts": T0 + minute * 60_000}))
    out.produce(settings.topic_clickstream, key=b"u1", value=orjson.dumps({**view, "type": "add_to_cart", "event_id": "a1", "ts": T0 + 3 * 60_000}))
    out.flush(10)
    assert len(consume(settings, settings.topic_scores_propensity, expected=4)) == 4

    base = f"http://127.0.0.1:{settings.web_port}/users"
    with urllib.request.urlopen(f"{base}/u1", timeout=10) as response:
        doc = json.loads(response.read())
    x = doc["features"]
    assert (x["session_events"], x["session_views"], x["session_carts"]) == (4, 3, 1)
    assert (x["cart_value"], x["cart_items"], x["item_views_by_user"], x["item_in_cart"]) == (10.0, 1, 3, 1)
    assert (x["frequency_orders"], x["category_affinity"]) == (0, 1.0)
    assert doc["propensity"]["event_id"] == "a1" and 0 <= doc["propensity"]["score"] <= 1

    try:
        urllib.request.urlopen(f"{base}/nobody", timeout=10)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404


def test_views_produce_recommendation_lists_within_the_rate_limit(settings, start_worker_for):
    # One event a batch: the rate limit alone decides (coalescing within a batch is unit-tested).
    settings = dataclasses.replace(settings, batch_max=1)
    start_worker_for(settings)
    out = producer(settings)
    # Two users browse the same three items in order; then u3 views item a.
    n = 0
    for user in ("u1", "u2"):
        for step, item in enumerate("abc"):
            n += 1
            event = {"event_id": f"{user}-{item}", "user_id": user, "ts": T0 + step * 10_000, "type": "product_view", "item_id": item, "session_id": f"s-{user}"}
            out.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(event))
    out.flush(10)
    # Users sit on different partitions, consumed in no fixed order: u3 browses only once the
    # model has learned u1's and u2's sessions (their six lists are out).
    assert len(consume(settings, settings.topic_scores_recommendations, expected=6)) == 6
    # u3: a view, then a second view 1 s later (rate-limited), then an add to cart (always listed).
    burst = [("u3-a", "product_view", "a", 0), ("u3-b", "product_view", "b", 1_000), ("u3-cart", "add_to_cart", "b", 2_000)]
    for event_id, kind, item, offset in burst:
        event = {"event_id": event_id, "user_id": "u3", "ts": T0 + 60_000 + offset, "type": kind, "item_id": item, "session_id": "s-u3"}
        out.produce(settings.topic_clickstream, key=b"u3", value=orjson.dumps(event))
    out.flush(10)
    lists = consume(settings, settings.topic_scores_recommendations, expected=8)
    by_event = {orjson.loads(m.value())["event_id"]: (m.key(), orjson.loads(m.value())) for m in lists}
    assert set(by_event) == {"u1-a", "u1-b", "u1-c", "u2-a", "u2-b", "u2-c", "u3-a", "u3-cart"}
    key, doc = by_event["u3-a"]
    assert key == b"u3" and doc["user_id"] == "u3"
    assert {"items", "strategy", "model_version", "event_ts", "scored_at"} <= set(doc)
    # After viewing a, sessions that viewed a went on to b, then c: b ranks above c.
    ranked = [entry["item_id"] for entry in doc["items"]]
    assert ranked.index("b") < ranked.index("c") and len(ranked) <= settings.reco_k
