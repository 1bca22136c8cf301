"""Every model the scorer can run honours the same contract, whatever its kind."""

import copy
import math
import pickle
import random

import pytest

from scorer.propensity import MODELS, ChampionChallenger, PropensityModel
from scorer.scoring import ModelSnapshot, seal, unseal

KEY = b"conformance-key-of-32-bytes-long"
KINDS = [*sorted(MODELS), "champion(logreg)"]


def make(kind: str, seed: int = 7):
    if kind == "champion(logreg)":
        return ChampionChallenger(PropensityModel("logreg", lineage="conf", seed=seed), seed=seed)
    return PropensityModel(kind, lineage="conf", seed=seed)


def examples(seed: int, n: int):
    rng = random.Random(seed)
    for _ in range(n):
        x = {
            "views": float(rng.randint(0, 30)),
            "carts": float(rng.randint(0, 4)),
            "recency_s": rng.expovariate(1e-3),
            "has_purchased": float(rng.random() < 0.2),
        }
        yield x, x["carts"] + 2.0 * x["has_purchased"] + rng.gauss(0.0, 1.0) > 2.5


def is_probability(p) -> bool:
    return isinstance(p, float) and not math.isnan(p) and 0.0 <= p <= 1.0


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def trained(kind):
    model = make(kind)
    for x, y in examples(seed=0, n=300):
        model.learn(x, y)
    return model


def test_predicting_before_any_learning_gives_a_probability(kind):
    model = make(kind)
    assert is_probability(model.predict({"views": 3.0, "carts": 1.0}))
    assert is_probability(model.predict({}))
    assert model.learned == 0 and model.version == "conf.0"


def test_learning_does_not_mutate_the_features(kind):
    model = make(kind)
    for x, y in examples(seed=1, n=200):
        before = copy.deepcopy(x)
        model.predict(x)
        model.learn(x, y)
        assert x == before


def test_learned_counts_advance(kind):
    model = make(kind)
    labels = [y for _, y in examples(seed=2, n=150)]
    for x, y in examples(seed=2, n=150):
        model.learn(x, y)
    assert model.learned == 150 and model.learned_positive == sum(labels) > 0
    assert model.version == f"{model.lineage}.150" and model.name in MODELS


def test_new_and_missing_features_are_tolerated(trained):
    for x in [
        {"views": 3.0, "carts": 1.0, "recency_s": 60.0, "has_purchased": 0.0, "cart_value": 99.0},
        {"views": 3.0},
        {"brand_new": 1.0},
        {},
    ]:
        assert is_probability(trained.predict(x))
        trained.learn(x, True)
        assert is_probability(trained.predict(x))
    for x, y in examples(seed=3, n=20):
        trained.learn({**x, "cart_value": 5.0} if y else x, y)
    assert is_probability(trained.predict({"cart_value": 5.0}))


def test_a_sealed_snapshot_predicts_identically(trained):
    restored = unseal(seal(ModelSnapshot(trained, {"clickstream/0": 300}, 1), KEY), KEY).model
    probes = [x for x, _ in examples(seed=4, n=40)] + [{}, {"views": 1.0}]
    assert [restored.predict(x) for x in probes] == [trained.predict(x) for x in probes]
    assert (restored.name, restored.version, restored.learned) == (trained.name, trained.version, trained.learned)


def test_the_same_seed_and_stream_give_the_same_model(kind):
    one, two = make(kind), make(kind)
    for x, y in examples(seed=5, n=200):
        one.learn(x, y)
        two.learn(x, y)
    probes = [x for x, _ in examples(seed=6, n=20)]
    assert [one.predict(x) for x in probes] == [two.predict(x) for x in probes]
    assert pickle.loads(pickle.dumps(one)).predict(probes[0]) == one.predict(probes[0])
