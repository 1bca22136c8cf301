"""LifetimeValue in the engine: values at purchases only, the published contract, erasure."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson

from scorer.clv import DAY_MS, CustomerSummary, LifetimeValue, user_hash
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
    assert model.sample.hashes() == [user_hash("u1")]
    engine.apply_consent(2, 0, 0, b"u1", ConsentEvent("k1", "u1", 20_001 * DAY_MS, "erase"))
    assert model.sample.hashes() == []


def test_the_sample_stays_bounded_and_keeps_the_smallest_hashes():
    model = LifetimeValue(sample_size=50)
    for i in range(500):
        model.observe(None, _purchase(f"p{i}", f"u{i}", 20_000, 10.0), None)
    assert sorted(model.sample.hashes()) == sorted(user_hash(f"u{i}") for i in range(500))[:50]


def _purchases(n_users: int, days: int) -> list[PurchaseEvent]:
    # Customers buy every (1 + u % 5)-th day from their own first day on: repeat rates differ.
    events = []
    for day in range(days):
        for u in range(n_users):
            if day >= u % 7 and (day - u % 7) % (1 + u % 5) == 0:
                events.append(_purchase(f"p{u}-{day}", f"u{u}", 20_000 + day, 5.0 + u % 11))
    return events


def test_workers_sharing_one_log_of_summaries_hold_the_same_parameters():
    # Two workers each observe their own half of the customers and publish the summaries
    # to one log; each learns the whole log in its order, as SharedTraining does.
    log: list[bytes] = []
    workers = [LifetimeValue(min_customers=20), LifetimeValue(min_customers=20)]
    for worker in workers:
        worker.on_summary = lambda summary: log.append(summary.to_bytes())
    fields: dict[str, object] = {}
    for event in _purchases(120, 30):
        worker = workers[int(event.user_id[1:]) % 2]
        fields[event.user_id], _ = worker.observe(fields.get(event.user_id), event, None)
    alone = LifetimeValue(min_customers=20)
    for event in _purchases(60, 30):  # what one worker would fit on its own half (a different sample)
        if int(event.user_id[1:]) % 2 == 0:
            alone.observe(None, event, None)
    for worker in workers:
        for raw in log:
            worker.learn_summary(CustomerSummary.from_bytes(raw))
    a, b = workers
    assert a.refits > 0 and a.version == b.version and a.params == b.params and a.spend == b.spend
    assert len(a.sample) == 120 and a.params != alone.params
    # An erasure on one worker reaches the other through the log.
    log.clear()
    a.forget_user("u3")
    b.learn_summary(CustomerSummary.from_bytes(log[0]))
    assert user_hash("u3") not in b.sample.hashes() and len(b.sample) == 119


def test_a_snapshot_state_resumes_the_same_forecasts_and_schedule():
    model = LifetimeValue(min_customers=20)
    fields: dict[str, object] = {}
    for event in _purchases(80, 20):
        fields[event.user_id], _ = model.observe(fields.get(event.user_id), event, None)
    restored = LifetimeValue(min_customers=20)
    restored.load_state(orjson.loads(orjson.dumps(model.to_state())))
    assert restored.refits == model.refits > 0 and restored.params == model.params and restored.spend == model.spend
    later = _purchase("late", "u5", 20_040, 9.0)
    one, value = model.observe(fields["u5"], later, None)
    two, again = restored.observe(fields["u5"], later, None)
    assert value == again and one == two and restored.version == model.version
