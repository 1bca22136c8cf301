"""Next-best offer: the reward join's window, consent, dead letters, exposure, the estimators, the simulator."""

import json
from pathlib import Path

import jsonschema
import numpy as np
import orjson
import pytest
from prometheus_client import CollectorRegistry

from scorer.datasets import SIMULATED_OFFERS, TrafficGenerator, offer_truth, read_obd
from scorer.events import ClickEvent, ConsentEvent, PurchaseEvent, PurchaseItem
from scorer.offers import Catalogue, Offer, OfferModel, OfferPolicy, RewardTally, estimate
from scorer.propensity import PropensityModel
from scorer.scoring import ScoringEngine, ScoringPipeline
from scorer.scoring.store import MemoryStore
from scorer.worker.offers import OfferExposure, OfferInputs

W_MS = 1_800_000
T0 = 1_767_225_600_000
SCHEMAS = Path(__file__).resolve().parents[3] / "scorer" / "events" / "schemas"
OBD = Path(__file__).resolve().parents[4] / "shared" / "data" / "obd-random-all"


class State:
    def to_x(self, event):
        return {"sessions_total": 1.0}


def model(**kwargs) -> OfferModel:
    return OfferModel(Catalogue([Offer("a"), Offer("b")]), OfferPolicy("linucb", floor=0.1), window_ms=W_MS, **kwargs)


def view(event_id: str, ts: int, user: str = "u1") -> ClickEvent:
    return ClickEvent(event_id, user, ts, "product_view", item_id="i1", category="c1", price=5.0)


@pytest.mark.parametrize(("offset_s", "reward"), [(-1, 1), (+1, 0)])
def test_click_counts_only_within_the_window(offset_s, reward):
    m = model()
    _, decision = m.observe(None, view("e1", T0), State())
    outcome = m.feedback(decision.decision_id, "click", T0 + W_MS + offset_s * 1000)
    assert outcome == ("joined" if reward else "late")
    # Nothing is learned until the window has closed in event time.
    assert m.resolved == 0 or offset_s > 0
    m.observe(None, ClickEvent("e2", "u2", T0 + W_MS + 2_000, "page_view"), State())
    assert (m.resolved, m.rewarded) == (1, reward)


@pytest.mark.parametrize(("offset_s", "reward"), [(-1, 1), (+1, 0)])
def test_purchase_within_the_window_rewards_the_decision(offset_s, reward):
    m = model()
    fields, _ = m.observe(None, view("e1", T0), State())
    order = PurchaseEvent("p1", "u1", T0 + W_MS + offset_s * 1000, "o1", (PurchaseItem("i1", 5.0),))
    m.observe(fields, order, State())
    m.observe(None, ClickEvent("e2", "u2", T0 + W_MS + 2_000, "page_view"), State())
    assert (m.resolved, m.rewarded) == (1, reward)


def test_no_offer_without_a_catalogue_and_on_other_events():
    m = OfferModel(Catalogue(), OfferPolicy("linucb"), window_ms=W_MS)
    assert m.observe(None, view("e1", T0), State()) == (None, None)
    assert model().observe(None, ClickEvent("e1", "u1", T0, "page_view"), State()) == (None, None)


def test_frequency_cap_and_eligibility():
    m = OfferModel(
        Catalogue([Offer("a", categories=frozenset({"shoes"}))]), OfferPolicy("linucb"), window_ms=W_MS, min_interval_ms=60_000
    )
    assert m.observe(None, view("e1", T0), State())[1] is None  # category c1: not eligible
    shoes = ClickEvent("e2", "u1", T0, "product_view", category="shoes")
    fields, decision = m.observe(None, shoes, State())
    assert decision.offer_id == "a" and decision.propensity == 1.0
    again = ClickEvent("e3", "u1", T0 + 59_000, "product_view", category="shoes")
    assert m.observe(fields, again, State()) == (fields, None) and m.capped == 1


def engine_with(m: OfferModel) -> ScoringEngine:
    return ScoringEngine(ScoringPipeline(PropensityModel("logreg", "t")), MemoryStore(), user_models=[m])


def test_no_decision_for_an_opted_out_user_and_erasure_drops_pending():
    m = model()
    engine = engine_with(m)
    engine.process(0, 0, 0, b"u1", view("e1", T0))
    assert [name for name, _ in engine.outputs] == ["offers"]
    engine.apply_consent(2, 0, 0, b"u1", ConsentEvent("c1", "u1", T0 + 1, "opt_out"))
    engine.process(0, 0, 1, b"u1", view("e2", T0 + 120_000))
    assert engine.outputs == [] and m.decisions == 1
    engine.apply_consent(2, 0, 1, b"u1", ConsentEvent("c2", "u1", T0 + 2, "erase"))
    assert len(m.join) == 0 and m.forgotten == 1


def test_unknown_decision_feedback_is_dead_lettered_and_others_users_skipped():
    m = model()
    _, decision = m.observe(None, view("e1", T0), State())
    letters = []
    inputs = OfferInputs(m, 8, owned=lambda: set(range(8)), dead_letter=lambda *a: letters.append(a))
    good = orjson.dumps({"decision_id": decision.decision_id, "user_id": "u1", "type": "click", "ts": T0 + 5_000})
    bad = orjson.dumps({"decision_id": "d-nope", "user_id": "u1", "type": "click", "ts": T0 + 5_000})
    assert inputs.feedback("offers.feedback", 3, 10, b"u1", good) == "joined"
    assert inputs.feedback("offers.feedback", 3, 11, b"u1", bad) == "unknown_decision"
    assert [(a[2], a[5]) for a in letters] == [(11, "unknown_decision")]
    assert inputs.feedback("offers.feedback", 3, 12, b"u1", b"{") == "malformed_json"
    elsewhere = OfferInputs(m, 8, owned=set, dead_letter=lambda *a: letters.append(a))
    assert elsewhere.feedback("offers.feedback", 3, 13, b"u1", bad) == "elsewhere" and len(letters) == 2


def test_catalogue_records_change_the_offers_at_run_time():
    m = model()
    inputs = OfferInputs(m, 8, owned=set, dead_letter=lambda *a: None)
    inputs.catalogue(b"c", orjson.dumps({"offer_id": "c", "segments": ["customer"]}))
    assert m.catalogue.eligible(None, "customer") == ("a", "b", "c") and m.catalogue.eligible(None, "new") == ("a", "b")
    inputs.catalogue(b"a", None)
    inputs.catalogue(b"b", orjson.dumps({"offer_id": "b", "active": False}))
    inputs.catalogue(b"x", b'{"active": true}')  # invalid: skipped
    assert m.catalogue.eligible(None, "new") == ()


def test_exposure_metrics_by_segment_and_offer():
    m = model()
    for i in range(20):
        m.observe(None, view(f"e{i}", T0 + i, user=f"u{i}"), State())
    m.observe(None, ClickEvent("late", "z", T0 + W_MS + 60_000, "page_view"), State())
    registry = CollectorRegistry()
    OfferExposure(registry).refresh(m)
    total = sum(registry.get_sample_value("scorer_offer_decisions", {"segment": "new", "offer": o}) or 0 for o in "ab")
    assert total == 20
    assert registry.get_sample_value("scorer_offer_reward_rate", {"segment": "new", "offer": "a"}) == 0.0
    assert registry.get_sample_value("scorer_offer_pending_decisions") == 0.0
    assert m.summary()["by_segment"]["new"]["a"]["resolved"] + m.summary()["by_segment"]["new"]["b"]["resolved"] == 20


def test_logged_propensity_is_the_policys_probability():
    policy = OfferPolicy("linucb", floor=0.2, seed=1)
    context = {"bias": 1.0}
    probabilities = policy.probabilities(("a", "b", "c", "d"), context, "new")
    assert sum(probabilities.values()) == pytest.approx(1.0) and min(probabilities.values()) == pytest.approx(0.05)
    chosen, p = policy.choose(("a", "b", "c", "d"), context, "new", 0.5, 0.0)
    assert p == pytest.approx(probabilities[chosen])


def test_schemas_accept_what_is_published():
    m = model()
    _, decision = m.observe(None, view("e1", T0), State())
    jsonschema.validate(orjson.loads(decision.payload(T0 + 3)), json.loads((SCHEMAS / "offers.schema.json").read_text()))
    for offer in SIMULATED_OFFERS:
        jsonschema.validate(offer.entry(), json.loads((SCHEMAS / "offer.schema.json").read_text()))
    feedback = {"decision_id": decision.decision_id, "user_id": "u1", "type": "impression", "ts": T0}
    jsonschema.validate(feedback, json.loads((SCHEMAS / "offer-feedback.schema.json").read_text()))


def test_reward_tally_baselines_share_the_draws():
    truth = offer_truth(TrafficGenerator(users=10, items=10, seed=3))
    tally = RewardTally(truth["response"], seed=0)
    rng = np.random.default_rng(0)
    offers = tuple(sorted(truth["response"]))
    for _ in range(2_000):
        tally.add("loyal_buyer", offers, "loyalty_points", float(rng.random()))
    result = tally.result()
    # Always showing a loyal buyer their best offer is the oracle, and also the best fixed offer.
    assert result["reward"] == result["oracle_reward"] == result["best_fixed_reward"] > result["random_reward"]
    assert result["best_fixed_offer"] == "loyalty_points"


def test_estimators_recover_a_known_click_rate():
    rng = np.random.default_rng(0)
    n, k = 20_000, 4
    actions = rng.integers(0, k, n)
    rates = np.array([0.1, 0.2, 0.3, 0.4])
    rewards = (rng.random(n) < rates[actions]).astype(float)
    logged = np.full(n, 1 / k)
    target = (actions == 3).astype(float)  # always action 3: true rate 0.4
    est = estimate(rewards, logged, target, np.full(n, 0.25), np.full(n, 0.25), replicates=100)
    for name in ("ips", "snips", "dr"):
        low, high = est[f"{name}_ci"]
        assert low < 0.4 < high and abs(est[name] - 0.4) < 0.03


@pytest.mark.skipif(not OBD.exists(), reason="needs ../shared/data/obd-random-all")
def test_obd_reader():
    log = read_obd(OBD)
    assert len(log) == 10_000 and log.clicks.sum() == 38 and log.n_items == 80
    assert np.allclose(log.propensities, 1 / 80) and log.affinity.shape == (10_000, 80)


@pytest.mark.parametrize("kind", ["linucb", "epsilon", "thompson"])
def test_a_policy_restored_from_a_sealed_snapshot_decides_as_the_original(kind):
    from scorer.scoring import ModelSnapshot, seal, unseal

    def fresh() -> OfferModel:
        return OfferModel(Catalogue([Offer("a"), Offer("b"), Offer("c")]), OfferPolicy(kind, floor=0.1), window_ms=W_MS)

    original = fresh()
    for n in range(300):
        _, decision = original.observe(None, view(f"e{n}", T0 + n * 60_000, user=f"u{n % 7}"), State())
        if decision is not None and decision.offer_id == "b" and n % 3:
            original.feedback(decision.decision_id, "click", T0 + n * 60_000 + 1_000)
    original.advance(T0 + 400 * 60_000)
    assert original.policy.updates > 200 and original.rewarded > 0
    key = b"k" * 32
    sealed = seal(ModelSnapshot(PropensityModel("logreg", "t"), extra={"user_models": {"offers": original.to_state()}}), key)
    restored = fresh()
    restored.load_state(unseal(sealed, key).extra["user_models"]["offers"])
    assert restored.version == original.version and restored.summary()["by_segment"] == original.summary()["by_segment"]
    # The same events from here on: the same decisions, down to their logged propensities.
    for n in range(300, 340):
        event = view(f"e{n}", T0 + n * 60_000, user=f"u{n % 7}")
        assert restored.observe(None, event, State())[1] == original.observe(None, event, State())[1]
    # Another bandit configured: the saved one is not loaded.
    other = OfferModel(Catalogue([Offer("a")]), OfferPolicy("epsilon" if kind != "epsilon" else "linucb"), window_ms=W_MS)
    other.load_state(original.to_state())
    assert other.policy.updates == 0 and other.decisions == 0
