from scorer.events import ClickEvent, ConsentEvent, PurchaseEvent, PurchaseItem
from scorer.propensity.model import PropensityModel
from scorer.scoring import MemoryStore, ScoringEngine, ScoringPipeline, UserRecord


class Orders:
    """Counts a user's purchases and reports every second one."""

    name = "orders"

    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def observe(self, fields, event, state):
        count = (fields or 0) + isinstance(event, PurchaseEvent)
        return count, (count if isinstance(event, PurchaseEvent) and count % 2 == 0 else None)

    def forget_user(self, user_id):
        self.forgotten.append(user_id)

    def describe(self, fields):
        return {"orders": fields}


def _purchase(event_id: str, ts: int) -> PurchaseEvent:
    return PurchaseEvent(event_id, "u1", ts, f"o-{event_id}", (PurchaseItem("i1", 3.0),))


def test_user_model_fields_live_in_the_record_and_outputs_reach_the_engine():
    orders = Orders()
    engine = ScoringEngine(ScoringPipeline(PropensityModel("logreg", "t")), MemoryStore(), user_models=[orders])
    engine.process(0, 0, 0, b"u1", ClickEvent("c1", "u1", 1_000, "page_view"))
    assert engine.outputs == []
    engine.process(1, 0, 0, b"u1", _purchase("p1", 2_000))
    engine.process(1, 0, 1, b"u1", _purchase("p2", 3_000))
    assert engine.outputs == [("orders", 2)]
    # A repeated event id changes nothing and publishes nothing.
    engine.process(1, 0, 2, b"u1", _purchase("p2", 3_000))
    assert engine.outputs == []
    record = engine.store.get(0, b"u1")
    assert UserRecord.from_bytes(record.to_bytes()).extras == {"orders": 2}
    assert engine.describe(record, "u1")["orders"] == {"orders": 2}


def test_opt_out_clears_and_erasure_forgets_the_user_models():
    orders = Orders()
    engine = ScoringEngine(ScoringPipeline(PropensityModel("logreg", "t")), MemoryStore(), user_models=[orders])
    engine.process(1, 0, 0, b"u1", _purchase("p1", 2_000))
    engine.apply_consent(2, 0, 0, b"u1", ConsentEvent("k1", "u1", 2_500, "opt_out"))
    assert engine.store.get(0, b"u1").extras == {}
    engine.process(1, 0, 1, b"u1", _purchase("p2", 3_000))
    assert engine.store.get(0, b"u1").extras == {}
    engine.apply_consent(2, 0, 1, b"u1", ConsentEvent("k2", "u1", 4_000, "erase"))
    assert orders.forgotten == ["u1"]
