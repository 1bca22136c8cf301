"""The published JSON Schemas and the Python decoder describe the same contract."""

import json
from pathlib import Path

import jsonschema
import orjson
import pytest

from scorer.events import CLICK_TYPES, InvalidEvent, decode_click, decode_purchase

SCHEMAS = Path(__file__).resolve().parents[3] / "scorer" / "events" / "schemas"
VALID_CLICK = {"event_id": "e1", "user_id": "u1", "ts": 1_700_000_000_000, "type": "add_to_cart", "price": 3.0}
VALID_PURCHASE = {"event_id": "p1", "user_id": "u1", "ts": "2023-11-14T22:13:20Z", "order_id": "o", "items": [{"item_id": "i", "price": 1}]}


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def test_click_type_enum_matches_the_decoder():
    assert schema("click")["properties"]["type"]["enum"] == list(CLICK_TYPES)


@pytest.mark.parametrize(("name", "decode", "valid"), [("click", decode_click, VALID_CLICK), ("purchase", decode_purchase, VALID_PURCHASE)])
def test_schema_and_decoder_agree_on_required_fields(name, decode, valid):
    jsonschema.validate(valid, schema(name))
    decode(orjson.dumps(valid))
    for field in schema(name)["required"]:
        broken = {k: v for k, v in valid.items() if k != field}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema(name))
        with pytest.raises(InvalidEvent):
            decode(orjson.dumps(broken))


def test_score_schema_accepts_what_the_worker_publishes():
    from scorer.events import Score, score_payload

    reasons = (("session_carts", 0.8), ("has_purchased", -0.4), ("views_hl1h", 0.1))
    payload = score_payload(Score("u1", 0.25, "logreg", "logreg-abc.3", "e1", 1_700_000_000_000, reasons), 1_700_000_000_050)
    document = orjson.loads(payload)
    jsonschema.validate(document, schema("propensity-score"))
    assert document["reasons"][1] == {"feature": "has_purchased", "contribution": -0.4}


def test_recommendation_schema_accepts_what_the_worker_publishes():
    from scorer.events import RecommendationList, list_payload
    from scorer.recommend import POPULAR, POPULAR_IN_CATEGORY, SESSION

    for strategy in (SESSION, POPULAR_IN_CATEGORY, POPULAR):
        built = RecommendationList("u1", [("i2", 1.5), ("i3", 0.25)], strategy, "reco-1.2", "e1", 1_700_000_000_000)
        jsonschema.validate(orjson.loads(list_payload(built, 1_700_000_000_050)), schema("recommendation-list"))
    wrong = orjson.loads(list_payload(RecommendationList("u1", [("i2", 1.5)], "mystery", "r", "e1", 1), 2))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema("recommendation-list"))


def test_segments_schema_accepts_what_the_worker_publishes():
    from scorer.events import SegmentAssignment
    from scorer.segments import RFM_SEGMENTS

    for name in RFM_SEGMENTS:
        published = SegmentAssignment("u1", name, 3, 4, 5, 2, "segments-w.7", "e1", 1_700_000_000_000)
        jsonschema.validate(orjson.loads(published.payload(1_700_000_000_050)), schema("segments"))
    wrong = orjson.loads(SegmentAssignment("u1", "vip", 3, 4, 5, 2, "s", "e1", 1).payload(2))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema("segments"))
    # No cluster while the clusters warm up: null, never a negative id.
    warming = orjson.loads(SegmentAssignment("u1", "new", 0, 0, 0, None, "s", "e1", 1).payload(2))
    assert warming["cluster"] is None
    jsonschema.validate(warming, schema("segments"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**warming, "cluster": -1}, schema("segments"))
