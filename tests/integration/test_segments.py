"""Customer segments end to end on the broker: published on change, served, tombstoned on erasure."""

import json
import urllib.request

import orjson

from tests.integration.conftest import consume, producer
from tests.integration.test_consent import consent, user_view, wait_for

T0 = 1_767_225_600_000
DAY = 86_400_000


def purchase(user: str, n: int, ts: int) -> bytes:
    return orjson.dumps(
        {"event_id": f"{user}-p{n}", "user_id": user, "ts": ts, "order_id": f"{user}-o{n}", "items": [{"item_id": "i1", "price": 12.5}]}
    )


def click(user: str, n: int, ts: int) -> bytes:
    return orjson.dumps({"event_id": f"{user}-c{n}", "user_id": user, "ts": ts, "type": "product_view", "item_id": "i1"})


def segments_view(settings) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/segments", timeout=10) as response:
        return json.loads(response.read())


def test_segments_through_the_broker_with_tombstones_on_erasure(settings, start_worker_for):
    start_worker_for(settings)
    out = producer(settings)

    def send(topic, value):
        out.produce(topic, key=orjson.loads(value)["user_id"].encode(), value=value)
        out.flush(10)

    send(settings.topic_purchases, purchase("buyer", 1, T0))
    send(settings.topic_clickstream, click("browser", 1, T0 + 1000))
    messages = consume(settings, settings.topic_scores_segments, expected=2)
    published = {m.key(): orjson.loads(m.value()) for m in messages}
    assert published[b"buyer"]["rfm"]["segment"] == "new" and published[b"buyer"]["event_id"] == "buyer-p1"
    assert published[b"browser"]["rfm"]["segment"] == "prospects"
    assert user_view(settings, "buyer")["segments"]["rfm"]["segment"] == "new"
    # One worker holds every partition here, so its view counts both users.
    view = segments_view(settings)
    assert view["active_users"] == 2 and view["rfm"]["new"]["users"] == 1 and view["rfm"]["prospects"]["users"] == 1

    # An opted-out user's purchase publishes nothing and leaves no segment in the record.
    send(settings.topic_consent, consent("opt_out", 2, "browser"))
    wait_for(lambda: user_view(settings, "browser")["opted_out"] is True)
    assert "segments" not in user_view(settings, "browser")
    send(settings.topic_purchases, purchase("browser", 1, T0 + DAY))
    # The buyer's second order, a day later, changes their segment: one more message.
    send(settings.topic_purchases, purchase("buyer", 2, T0 + DAY + 1000))
    messages = consume(settings, settings.topic_scores_segments, expected=3)
    buyer = [orjson.loads(m.value()) for m in messages if m.key() == b"buyer"]
    assert [doc["event_id"] for doc in buyer] == ["buyer-p1", "buyer-p2"]
    assert [m.key() for m in messages].count(b"browser") == 1
    moved_to = buyer[-1]["rfm"]["segment"]
    assert moved_to != "new" and segments_view(settings)["rfm"][moved_to]["users"] == 1

    send(settings.topic_consent, consent("erase", 3, "buyer"))
    messages = consume(settings, settings.topic_scores_segments, expected=4)
    buyer = [m for m in messages if m.key() == b"buyer"]
    assert len(buyer) == 3 and buyer[-1].value() is None
    wait_for(lambda: segments_view(settings)["rfm"].get(moved_to, {"users": 0})["users"] == 0)
    assert user_view(settings, "buyer") == 404
