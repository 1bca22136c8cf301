"""Erased stays erased whatever arrives late; restored records' label windows still close."""

from scorer.events import ClickEvent, ConsentEvent
from scorer.propensity import PropensityModel
from scorer.scoring import MemoryStore, ScoringEngine, ScoringPipeline, UserRecord
from scorer.scoring.engine import ERASURE_HORIZON_S

T0 = 1_767_225_600_000
CLICK, CONSENT = 0, 2


def _engine(store=None):
    return ScoringEngine(ScoringPipeline(PropensityModel("logreg", "t")), store if store is not None else MemoryStore())


def _click(event_id: str, ts: int, user: str = "u1") -> ClickEvent:
    return ClickEvent(event_id, user, ts, "product_view", item_id="i1")


def test_events_dated_before_an_erasure_change_nothing_when_read_after_it():
    engine = _engine()
    assert engine.process(CLICK, 0, 1, b"u1", _click("a", T0)) is not None
    engine.apply_consent(CONSENT, 0, 1, b"u1", ConsentEvent("k", "u1", T0 + 10_000, "erase"))
    # Sent before the erasure, read after it (another topic, a redelivery): nothing comes back.
    assert engine.process(CLICK, 0, 2, b"u1", _click("b", T0 + 5_000)) is None
    assert engine.erased == 1
    marker = engine.store.get(0, b"u1")
    assert marker.is_marker and marker.state.ref_ts == 0 and len(marker.pending) == 0
    # What the user does after the erasure starts a fresh record.
    assert engine.process(CLICK, 0, 3, b"u1", _click("c", T0 + 20_000)) is not None
    record = engine.store.get(0, b"u1")
    assert record.state.sessions_total == 1 and not record.is_marker and record.erased_at == T0 + 10_000


def test_the_marker_survives_serialisation_and_goes_after_its_horizon():
    engine = _engine()
    engine.process(CLICK, 0, 1, b"u1", _click("a", T0))
    engine.apply_consent(CONSENT, 0, 1, b"u1", ConsentEvent("k", "u1", T0 + 1_000, "erase"))
    restored = UserRecord.from_bytes(engine.store.get(0, b"u1").to_bytes())
    assert restored.is_marker and restored.erased_at == T0 + 1_000
    # Another user moves the partition clock; the marker is kept until the horizon has passed.
    engine.process(CLICK, 0, 2, b"u2", _click("x", T0 + int(ERASURE_HORIZON_S * 1000) - 1, user="u2"))
    assert not engine.is_idle(restored, 0)
    engine.process(CLICK, 0, 3, b"u2", _click("y", T0 + int(ERASURE_HORIZON_S * 1000) + 2_000, user="u2"))
    assert engine.is_idle(restored, 0) and engine.after_ttl(restored) is None


def test_pending_examples_of_restored_records_are_learned_when_their_windows_close():
    first = _engine()
    for i in range(5):
        first.process(CLICK, 0, i, f"u{i}".encode(), _click(f"c{i}", T0 + i, user=f"u{i}"))
    assert first.pipeline.learned == 0
    # A new process (a restart) restores the same records, with an empty expiry queue.
    store = MemoryStore()
    for key, record in first.store.items(0):
        store.put(0, key, UserRecord.from_bytes(record.to_bytes()))
    second = _engine(store)
    second.process(CLICK, 0, 10, b"other", _click("late", T0 + 31 * 60_000, user="other"))
    assert second.restored_pending == 5
    assert second.pipeline.learned == 5


def test_a_recreated_input_topic_is_not_taken_for_a_replay():
    engine = _engine()
    engine.epochs = {CLICK: 7}
    assert engine.process(CLICK, 0, 500, b"u1", _click("a", T0)) is not None
    assert engine.process(CLICK, 0, 500, b"u1", _click("a", T0)) is None and engine.replayed == 1
    # The topic was deleted and created again: a new id, offsets from 0.
    engine.epochs = {CLICK: 9}
    assert engine.process(CLICK, 0, 3, b"u1", _click("b", T0 + 1_000)) is not None
    assert engine.replayed == 1
    # A record stored before epochs existed keeps counting its offsets as before.
    legacy = _engine()
    legacy.process(CLICK, 0, 500, b"u2", _click("c", T0, user="u2"))
    legacy.epochs = {CLICK: 9}
    assert legacy.process(CLICK, 0, 400, b"u2", _click("d", T0 + 1, user="u2")) is None and legacy.replayed == 1
