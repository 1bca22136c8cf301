import orjson
import pytest

from scorer.events import InvalidEvent, decode_click, decode_purchase

CLICK = {"event_id": "e1", "user_id": "u1", "ts": 1_700_000_000_000, "type": "product_view", "item_id": "i1", "price": 9.5}
PURCHASE = {"event_id": "p1", "user_id": "u1", "ts": 1_700_000_000_000, "order_id": "o1", "items": [{"item_id": "i1", "price": 2.5, "quantity": 2}]}


def test_click_decodes_every_field():
    full = {**CLICK, "category": "c", "brand": "b", "session_id": "s", "query": "q", "channel": "email", "device": "mobile", "extra": [1]}
    event = decode_click(orjson.dumps(full))
    assert (event.item_id, event.category, event.brand, event.price) == ("i1", "c", "b", 9.5)
    assert (event.session_id, event.query, event.channel, event.device) == ("s", "q", "email", "mobile")


def test_purchase_defaults_quantity_and_sums_revenue():
    doc = {**PURCHASE, "items": [{"item_id": "a", "price": 2.5, "quantity": 2}, {"item_id": "b", "price": 1.0}]}
    event = decode_purchase(orjson.dumps(doc))
    assert event.items[1].quantity == 1
    assert event.revenue == 6.0


def test_rfc3339_and_integer_times_agree():
    a = decode_click(orjson.dumps({**CLICK, "ts": "2023-11-14T22:13:20Z"}))
    b = decode_click(orjson.dumps({**CLICK, "ts": "2023-11-14T23:13:20+01:00"}))
    assert a.ts == b.ts == 1_700_000_000_000


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (b"[1, 2]", "not_an_object"),
        (orjson.dumps({k: v for k, v in CLICK.items() if k != "user_id"}), "missing_field"),
        (orjson.dumps({**CLICK, "user_id": 7}), "wrong_type"),
        (orjson.dumps({**CLICK, "user_id": ""}), "invalid_value"),
        (orjson.dumps({**CLICK, "user_id": "u" * 257}), "invalid_value"),
        (orjson.dumps({**CLICK, "type": "teleport"}), "unknown_type"),
        (orjson.dumps({**CLICK, "ts": 12}), "bad_timestamp"),
        (orjson.dumps({**CLICK, "ts": "yesterday"}), "bad_timestamp"),
        (orjson.dumps({**CLICK, "ts": "2023-11-14T22:13:20"}), "bad_timestamp"),
        (orjson.dumps({**CLICK, "ts": True}), "wrong_type"),
        (orjson.dumps({**CLICK, "price": -1}), "invalid_value"),
        (orjson.dumps({**CLICK, "price": "9.5"}), "wrong_type"),
        (b'{"event_id":"e","user_id":"u","ts":1700000000000,"type":"search","price":Infinity}', "malformed_json"),
        # JSON has no infinity; an overflowing literal is refused by the parser.
        (b'{"event_id":"e","user_id":"u","ts":1700000000000,"type":"search","price":1e999}', "malformed_json"),
        (orjson.dumps({**CLICK, "query": "x" * 70_000}), "too_large"),
    ],
)
def test_click_rejections_name_their_reason(raw, reason):
    with pytest.raises(InvalidEvent) as caught:
        decode_click(raw)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"items": []}, "invalid_value"),
        ({"items": "i1"}, "wrong_type"),
        ({"items": [{"item_id": "a"}]}, "missing_field"),
        ({"items": [{"item_id": "a", "price": 1, "quantity": 1.5}]}, "wrong_type"),
        ({"items": [{"item_id": "a", "price": 1, "quantity": -1}]}, "invalid_value"),
        ({"order_id": None}, "missing_field"),
    ],
)
def test_purchase_rejections_name_their_reason(change, reason):
    with pytest.raises(InvalidEvent) as caught:
        decode_purchase(orjson.dumps({**PURCHASE, **change}))
    assert caught.value.reason == reason
