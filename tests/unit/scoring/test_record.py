"""A user record's stored form: deflated JSON, and plain JSON records from before still read."""

from scorer.events import ClickEvent
from scorer.scoring import MemoryStore, ScoringEngine, ScoringPipeline, UserRecord
from scorer.propensity import PropensityModel
from scorer.recommend import Recommender

T0 = 1_767_225_600_000


def busy_record() -> UserRecord:
    """A user with a few views across categories, pending examples and a session."""
    store = MemoryStore()
    engine = ScoringEngine(ScoringPipeline(PropensityModel("logreg", lineage="t")), store, Recommender())
    for i in range(12):
        event = ClickEvent(f"e{i}", "u1", T0 + i * 20_000, "product_view", item_id=f"item-{i % 5}",
                           category=("shoes", "bags")[i % 2], brand="acme", price=10.0 + i)
        engine.process(0, 0, i, b"u1", event)
    return store.get(0, b"u1")


def test_a_record_round_trips_and_is_stored_smaller_than_its_json():
    record = busy_record()
    raw = record.to_bytes()
    again = UserRecord.from_bytes(raw)
    assert again.to_bytes() == raw
    assert again.pending.items == record.pending.items and again.state.to_fields() == record.state.to_fields()
    assert len(raw) < 0.7 * len(record._json())


def test_a_plain_json_record_from_before_deflating_still_reads():
    record = busy_record()
    legacy = record._json()
    assert legacy[:1] == b"["
    assert UserRecord.from_bytes(legacy).to_bytes() == record.to_bytes()
