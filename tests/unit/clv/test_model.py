"""LifetimeValue in the engine: values at purchases only, the published contract, erasure."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson

from scorer.clv import DAY_MS, LifetimeValue
from scorer.events import ClickEvent, ConsentEvent, CustomerValue, PurchaseEvent, PurchaseItem
from scorer.propensity.model import PropensityModel
from scorer.scoring import MemoryStore, ScoringEngine, ScoringPipeline

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "scorer" / "events" / "schemas" / "clv.schema.json").read_text())


def _purchase(event_id: str, user: str, day: int, value: float) -> PurchaseEvent:
    return PurchaseEvent(event_id, user, day * DAY_MS + 3_600_000, f"o-{event_id}", (PurchaseItem("i1", value),))


def _engine(model: LifetimeValue) -> ScoringEngine:
    return ScoringEngine(ScoringPipeline(PropensityModel("logreg", "t")), MemoryStore(), user_models=[model])


def test_a_value_at_every_purchase_and_none_at_clicks():
    model = LifetimeValue(min_customers=1)
    engine = _engine(model)
    engine.process(0, 0, 0, b"u1", ClickEvent("c1", "u1", 20_000 * DAY_MS, "page_view"))
    assert engine.outputs == []
    engine.process(1, 0, 1, b"u1", _purchase("p1", "u1", 20_000, 30.0))
    [(name, first)] = engine.outputs
    assert name == "clv" and isinstance(first, CustomerValue) and first.purchases == 1
    engine.process(1, 0, 2, b"u1", _purchase("p2", "u1", 20_010, 10.0))
    [(_, second)] = engine.outputs
    assert second.purchases == 2 and second.event_id == "p2"
    document = orjson.loads(second.payload(1_700_000_000_000))
    jsonschema.validate(document, SCHEMA)
    assert document["horizon_days"] == 365 and 0 < document["p_alive"] <= 1
    view = engine.describe(engine.store.get(0, b"u1"), "u1")
    assert view["clv"]["purchases"] == 2


def test_parameters_are_refitted_once_per_day_of_event_time():
    model = LifetimeValue(min_customers=3)
    for i in range(40):
        model.observe(None, _purchase(f"p{i}", f"u{i}", 20_000 + i // 10, 10.0), None)
    # Days 20000..20003: the schedule is due on days 1, 2 and 3; 3 customers exist from day 0 on.
    assert model.refits == 3
    assert model.version == "clv.3"


def test_erasure_removes_the_customer_from_the_fit_sample():
    model = LifetimeValue()
    engine = _engine(model)
    engine.process(1, 0, 0, b"u1", _purchase("p1", "u1", 20_000, 30.0))
    assert model.sample.users() == ["u1"]
    engine.apply_consent(2, 0, 0, b"u1", ConsentEvent("k1", "u1", 20_001 * DAY_MS, "erase"))
    assert model.sample.users() == []


def test_the_sample_stays_bounded_and_keeps_the_smallest_hashes():
    model = LifetimeValue(sample_size=50)
    for i in range(500):
        model.observe(None, _purchase(f"p{i}", f"u{i}", 20_000, 10.0), None)
    from scorer.clv.sample import user_hash

    assert sorted(model.sample.users(), key=user_hash) == sorted((f"u{i}" for i in range(500)), key=user_hash)[:50]
