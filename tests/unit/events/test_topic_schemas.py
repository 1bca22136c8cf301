"""JSON Schemas of the consent topic and the dead-letter topic agree with what the scorer reads and writes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest

from scorer.events import CONSENT_ACTIONS, InvalidEvent, decode_consent

SCHEMAS = Path(__file__).resolve().parents[3] / "scorer" / "events" / "schemas"
VALID_CONSENT = {"event_id": "c1", "user_id": "u1", "ts": 1_700_000_000_000, "action": "erase"}


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def test_consent_schema_and_decoder_agree() -> None:
    assert schema("consent")["properties"]["action"]["enum"] == list(CONSENT_ACTIONS)
    jsonschema.validate(VALID_CONSENT, schema("consent"))
    decode_consent(orjson.dumps(VALID_CONSENT))
    for field in schema("consent")["required"]:
        broken = {k: v for k, v in VALID_CONSENT.items() if k != field}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema("consent"))
        with pytest.raises(InvalidEvent):
            decode_consent(orjson.dumps(broken))
    wrong = {**VALID_CONSENT, "action": "forget_me"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema("consent"))
    with pytest.raises(InvalidEvent):
        decode_consent(orjson.dumps(wrong))


def test_dead_letter_schema_describes_the_headers_the_worker_writes() -> None:
    from scorer.scoring import ScoringPipeline  # noqa: F401 - the processor's dependencies load
    from scorer.settings import Settings
    from scorer.worker.processor import EventProcessor
    from scorer.worker.wiring import make_pipeline
    from tests.fakes import MemoryPublisher

    settings = Settings()
    publisher = MemoryPublisher()
    processor = EventProcessor(settings, make_pipeline(settings, lineage="t"), cache=None, publisher=publisher)  # type: ignore[arg-type]
    processor.dead_letter(settings.topic_clickstream, 3, 1234, b"u1", b"\xff not json", "malformed_json", "not valid JSON")
    (record,) = publisher.on(settings.topic_dlq)
    headers = {name: value.decode() for name, value in record.headers.items()}
    jsonschema.validate(headers, schema("dead-letter"))
    assert record.value == b"\xff not json" and record.key == b"u1"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**headers, "scorer.source.offset": "-1"}, schema("dead-letter"))
