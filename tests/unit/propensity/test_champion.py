"""ChampionChallenger: drift on a concept flip starts a challenger that wins; a stable stream keeps its champion."""

import json
import pickle
import random

import pytest

from scorer.propensity import ChampionChallenger, example_log_loss, PropensityModel
from scorer.propensity.registry import signed_log1p

FLIP_AT = 4_000


def concept_stream(seed: int, n: int, flip_at: int | None = None, noise: float = 0.05):
    """``y = a > 0`` (then ``a < 0`` from ``flip_at`` on), with a share of labels flipped at random."""
    rng = random.Random(seed)
    for i in range(n):
        # Compressed as the feature vector is (scorer.features.vector), before any model sees it.
        x = signed_log1p({"a": rng.gauss(0.0, 1.0), "b": rng.gauss(0.0, 1.0)})
        y = x["a"] > 0 if flip_at is None or i < flip_at else x["a"] < 0
        yield i, x, y != (rng.random() < noise)


@pytest.fixture(autouse=True)
def fast_learner(monkeypatch):
    # These tests are about drift handling, on concept flips a step of 0.01 follows within
    # hundreds of examples; the default step (0.001) is tuned for real clickstream instead.
    from scorer.propensity import registry

    monkeypatch.setattr(registry, "LEARNING_RATE", 0.01)


def wrapped(**options) -> ChampionChallenger:
    return ChampionChallenger(PropensityModel("logreg", lineage="t"), **options)


def test_a_concept_flip_is_detected_after_the_flip_and_the_challenger_is_promoted():
    model = wrapped()
    first_drift = started = promoted = None
    for i, x, y in concept_stream(seed=0, n=FLIP_AT + 2_000, flip_at=FLIP_AT):
        drifts, promotions = model.drifts, model.promotions
        model.learn(x, y)
        if model.drifts > drifts and first_drift is None:
            first_drift = i
        if model.challenger is not None and started is None:
            started = i
            assert model.challenger.lineage == "t-c1"
        if model.promotions > promotions:
            promoted = i
    assert FLIP_AT <= first_drift < FLIP_AT + 200
    assert started == first_drift
    assert promoted is not None and promoted >= started + model.min_examples - 1
    assert model.promotions == 1
    assert model.lineage == "t-c1" and model.version.startswith("t-c1.")
    assert model.challenger is None


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_a_stable_stream_never_promotes(seed):
    model = wrapped()
    for _, x, y in concept_stream(seed=seed, n=12_000):
        model.learn(x, y)
    assert model.promotions == 0
    assert model.lineage == "t"
    assert model.learned == 12_000


def test_only_the_champion_is_served_while_a_challenger_learns():
    model = wrapped()
    probe = [{"a": a, "b": 0.0} for a in (-2.0, -0.5, 0.5, 2.0)]
    for _, x, y in concept_stream(seed=0, n=FLIP_AT + 300, flip_at=FLIP_AT):
        model.learn(x, y)
    assert model.challenger is not None and model.promotions == 0
    for x in probe:
        assert model.predict(x) == model.champion.predict(x)
        assert model.shadow_predict(x) == model.challenger.predict(x)
    assert model.predict(probe[-1]) != model.shadow_predict(probe[-1])
    assert model.version == model.champion.version and model.learned == model.champion.learned


def test_a_challenger_that_cannot_win_is_retired_and_the_next_drift_starts_another():
    model = wrapped(margin=0.99, retire_after=600)
    for _, x, y in concept_stream(seed=0, n=FLIP_AT + 700, flip_at=FLIP_AT):
        model.learn(x, y)
    assert model.retirements == 1 and model.promotions == 0 and model.challenger is None
    for _, x, y in concept_stream(seed=1, n=300):  # and back to a > 0
        model.learn(x, y)
    assert model.challengers_started == 2
    assert model.challenger is not None and model.challenger.lineage == "t-c2"


def test_the_same_stream_makes_the_same_decisions_and_a_pickled_model_carries_on_identically():
    one, two = wrapped(), wrapped()
    for i, x, y in concept_stream(seed=0, n=FLIP_AT + 1_000, flip_at=FLIP_AT):
        one.learn(x, y)
        two.learn(x, y)
        if i == FLIP_AT + 200:
            assert one.challenger is not None
            two = pickle.loads(pickle.dumps(two))
    assert one.status() == two.status()
    assert one.predict({"a": 1.0, "b": 0.0}) == two.predict({"a": 1.0, "b": 0.0})


def test_status_is_json_and_names_both_models_during_a_challenge():
    model = wrapped()
    assert model.status()["challenger"] is None and model.status()["champion_log_loss"] is None
    for _, x, y in concept_stream(seed=0, n=FLIP_AT + 100, flip_at=FLIP_AT):
        model.learn(x, y)
    status = json.loads(json.dumps(model.status()))
    assert status["champion"] == {"name": "logreg", "version": model.version, "learned": FLIP_AT + 100}
    assert status["challenger"] == model.challenger.version and status["challenger"].startswith("t-c1.")
    assert status["drifts"] >= 1 and status["promotions"] == 0
    assert status["champion_log_loss"] > 0 and status["challenger_log_loss"] > 0


def test_log_loss_is_clipped():
    assert example_log_loss(1.0, False) == pytest.approx(example_log_loss(0.0, True)) == pytest.approx(13.8155, abs=1e-4)
    assert example_log_loss(0.5, True) == example_log_loss(0.5, False)


@pytest.mark.parametrize("options", [{"margin": 1.0}, {"margin": -0.1}, {"min_examples": 500, "retire_after": 100}])
def test_nonsense_options_are_refused(options):
    with pytest.raises(ValueError):
        wrapped(**options)
