"""Customer lifetime values through the broker: one per purchase, keyed by user, and a tombstone on erasure."""

import time
from pathlib import Path

import jsonschema
import orjson

from tests.integration.conftest import consume, producer

SCHEMAS = Path(__file__).resolve().parents[2] / "scorer" / "events" / "schemas"


def test_purchases_publish_lifetime_values_and_erasure_tombstones_them(settings, start_worker_for):
    start_worker_for(settings)
    out = producer(settings)
    day = 86_400_000
    base = int(time.time() * 1000) - 40 * day
    purchases = [
        {"event_id": f"p{user}-{n}", "user_id": user, "ts": base + n * 9 * day + index * 1_000, "order_id": f"o{user}{n}",
         "items": [{"item_id": "i1", "price": 20.0 + n, "quantity": 1}]}
        for index, user in enumerate(("buyer", "other"))
        for n in range(3)
    ]
    for doc in sorted(purchases, key=lambda d: d["ts"]):
        out.produce(settings.topic_purchases, key=doc["user_id"].encode(), value=orjson.dumps(doc))
    out.flush(10)
    values = consume(settings, settings.topic_scores_clv, expected=len(purchases))
    assert len(values) == len(purchases)
    schema = orjson.loads((SCHEMAS / "clv.schema.json").read_bytes())
    for message in values:
        jsonschema.validate(orjson.loads(message.value()), schema)
    assert {m.key() for m in values} == {b"buyer", b"other"}

    erase = {"event_id": "k1", "user_id": "buyer", "ts": base + 30 * day, "action": "erase"}
    out.produce(settings.topic_consent, key=b"buyer", value=orjson.dumps(erase))
    out.flush(10)
    after = consume(settings, settings.topic_scores_clv, expected=len(purchases) + 1)
    assert [m.value() for m in after if m.key() == b"buyer"][-1] is None
    assert [m.value() for m in after if m.key() == b"other"][-1] is not None
