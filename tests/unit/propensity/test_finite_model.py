"""Nothing the contract accepts, and nothing a bug upstream hands over, makes a score non-finite."""

import math

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorer.events import InvalidEvent, decode_click, decode_purchase
from scorer.features import CLIP, FEATURE_NAMES
from scorer.propensity import ChampionChallenger, MODELS, PropensityModel
from scorer.scoring import ModelSnapshot, ScoringPipeline, SnapshotRejected, seal, unseal
from scorer.scoring import snapshot as snapshot_module
from scorer.scoring.snapshot import NonFiniteModel

T0 = 1_700_000_000_000
KEY = b"finite-model-key-of-32-bytes-ok!"
extreme = st.sampled_from([0.0, 1e-300, 1.0, 1e9, 1e20, 1e50, 1e300, 1.7e308, -1e50])
numbers = st.floats(allow_nan=False, allow_infinity=False) | extreme | st.integers(-(2**63), 2**63 - 1)


def documents(draw, i: int) -> tuple[str, bytes]:
    user = f"u{draw(st.integers(0, 3))}"
    if draw(st.booleans()):
        line = {"item_id": draw(st.sampled_from(["a", "b"])), "price": draw(numbers), "quantity": draw(st.integers(0, 10**9))}
        doc = {"event_id": f"p{i}", "user_id": user, "ts": T0 + i * 60_000, "order_id": f"o{i}", "items": [line]}
        return "purchase", orjson.dumps(doc)
    doc = {"event_id": f"c{i}", "user_id": user, "ts": T0 + i * 60_000, "type": draw(st.sampled_from(["product_view", "add_to_cart"])),
           "item_id": draw(st.sampled_from(["a", "b", ""])), "category": draw(st.sampled_from(["k", ""])), "price": draw(numbers)}
    return "click", orjson.dumps(doc)


@st.composite
def streams(draw):
    return [documents(draw, i) for i in range(draw(st.integers(5, 60)))]


@settings(max_examples=60, deadline=None)
@given(streams(), st.sampled_from(sorted(MODELS)))
def test_every_score_is_a_finite_probability_whatever_the_input(stream, name):
    pipeline = ScoringPipeline(ChampionChallenger(PropensityModel(name, lineage="prop")), window_s=120)
    records: dict = {}
    for kind, raw in stream:
        try:
            event = (decode_click if kind == "click" else decode_purchase)(raw)
        except InvalidEvent as exc:
            assert exc.reason in {"out_of_range", "invalid_value", "wrong_type", "malformed_json"}
            continue
        record, score = pipeline.handle(records.get(event.user_id), event)
        records[event.user_id] = record
        if score is not None:
            assert 0.0 <= score.score <= 1.0
            assert all(math.isfinite(value) for _, value in score.reasons)
            values = record.pending.latest_values()
            assert len(values) == len(FEATURE_NAMES) and all(-CLIP <= v <= CLIP for v in values)
    assert pipeline.model.is_finite()


def test_a_price_of_1e50_is_dead_lettered_with_a_reason():
    for raw, decode in [
        (b'{"event_id":"e","user_id":"u","ts":1700000000000,"type":"product_view","price":1e50}', decode_click),
        (b'{"event_id":"e","user_id":"u","ts":1700000000000,"order_id":"o","items":[{"item_id":"i","price":1e50}]}', decode_purchase),
        (b'{"event_id":"e","user_id":"u","ts":1700000000000,"order_id":"o","items":[{"item_id":"i","price":1,"quantity":1000000}]}', decode_purchase),
    ]:
        with pytest.raises(InvalidEvent) as caught:
            decode(raw)
        assert caught.value.reason == "out_of_range"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_non_finite_example_is_refused_and_counted(name):
    model = PropensityModel(name, lineage="guard")
    model.learn({"a": 1.0}, True)
    model.learn({"a": math.inf}, False)
    model.learn({"a": math.nan}, True)
    assert (model.learned, model.refused) == (1, 2)
    assert 0.0 <= model.predict({"a": 1.0}) <= 1.0


def test_a_step_that_breaks_the_weights_is_rolled_back():
    model = PropensityModel("logreg", lineage="guard")
    for i in range(10):
        model.learn({"a": float(i % 2)}, i % 2 == 1)
    good = PropensityModel("logreg", lineage="fresh").predict({"a": 1.0})  # the last good copy: before example 1
    # A step size that turns the next update's weights infinite.
    model.classifier["LogisticRegression"].optimizer.lr.learning_rate = math.inf
    model.learn({"a": 1.0}, False)
    assert model.refused == 1 and model.is_finite()
    assert model.learned == 10 and math.isfinite(model.predict({"a": 1.0}))
    assert model.predict({"a": 1.0}) == pytest.approx(good)


def test_a_non_finite_score_is_never_served():
    model = PropensityModel("logreg", lineage="guard")
    model.classifier["LogisticRegression"]._weights["a"] = math.nan
    assert model.predict({"a": 1.0}) == pytest.approx(0.03)
    probability, why = model.predict_with_reasons({"a": 1.0})
    assert (probability, why) == (pytest.approx(0.03), [])
    assert model.nonfinite_scores == 2


def test_a_non_finite_model_is_never_sealed_and_refused_when_found(monkeypatch):
    model = ChampionChallenger(PropensityModel("logreg", lineage="guard"))
    model.learn({"a": 1.0}, True)
    model.champion.classifier["LogisticRegression"]._weights["a"] = math.inf
    with pytest.raises(NonFiniteModel):
        seal(ModelSnapshot(model), KEY)
    # One sealed by a writer that did not check (an older version) is refused at start.
    monkeypatch.setattr(snapshot_module, "_is_finite", lambda model: True)
    raw = seal(ModelSnapshot(model), KEY)
    monkeypatch.undo()
    with pytest.raises(SnapshotRejected, match="non-finite"):
        unseal(raw, KEY)
