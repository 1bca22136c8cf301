import math
import random

import pytest
from river import forest, linear_model, naive_bayes

from scorer.propensity import contributions, make_model, reasons

FEATURES = ("driver", "noise_a", "noise_b", "noise_c")


def synthetic(n: int, sign: int = 1, seed: int = 1):
    """``driver`` alone decides the label (with 5% noise); the other features are noise."""
    rng = random.Random(seed)
    for _ in range(n):
        x = {name: rng.random() for name in FEATURES}
        label = (x["driver"] > 0.5) == (sign > 0)
        yield x, label if rng.random() > 0.05 else not label


def trained(name: str, n: int, sign: int = 1):
    model = make_model(name, seed=3)
    for x, y in synthetic(n, sign):
        model.learn_one(x, y)
    return model


def point(driver: float) -> dict[str, float]:
    return {"driver": driver, "noise_a": 0.5, "noise_b": 0.5, "noise_c": 0.5}


@pytest.fixture(scope="module")
def models():
    return {
        "logreg": trained("logreg", 4_000),
        "logreg_negative": trained("logreg", 4_000, sign=-1),
        "hat": trained("hat", 3_000),
        "arf": trained("arf", 3_000),
    }


@pytest.mark.parametrize(("name", "sign"), [("logreg", 1), ("logreg_negative", -1)])
def test_logreg_names_the_driving_feature_first_with_its_sign(models, name, sign):
    top, *_ = reasons(models[name], point(0.95), k=3)
    assert top[0] == "driver"
    assert math.copysign(1.0, top[1]) == sign
    low, *_ = reasons(models[name], point(0.05), k=3)
    assert low[0] == "driver" and math.copysign(1.0, low[1]) == -sign


def test_logreg_contributions_and_intercept_add_up_to_the_logit(models):
    model = models["logreg"]
    x = {"driver": 0.8, "noise_a": 0.1, "noise_b": 0.9, "noise_c": 0.3}
    p = model.predict_proba_one(x)[True]
    intercept = list(model.steps.values())[-1].intercept
    assert sum(contributions(model, x).values()) + intercept == pytest.approx(math.log(p / (1 - p)))


def test_a_bare_logistic_regression_is_weight_times_value():
    model = linear_model.LogisticRegression()
    for x, y in synthetic(500):
        model.learn_one(x, y)
    x = point(0.9)
    assert contributions(model, x) == pytest.approx({name: model.weights[name] * x[name] for name in FEATURES})


def test_reasons_are_the_k_largest_by_absolute_value_without_unknown_features(models):
    x = point(0.9) | {"never_seen": 5.0}
    everything = contributions(models["logreg"], x)
    found = reasons(models["logreg"], x, k=2)
    assert len(found) == 2
    assert [abs(v) for _, v in found] == sorted((abs(v) for v in everything.values() if v), reverse=True)[:2]
    assert "never_seen" not in dict(reasons(models["logreg"], x, k=10))


@pytest.mark.parametrize("name", ["hat", "arf"])
def test_trees_return_known_names_and_finite_contributions(models, name):
    for driver in (0.05, 0.3, 0.7, 0.95):
        x = point(driver)
        found = reasons(models[name], x, k=3)
        assert found and len(found) <= 3
        assert all(feature in x and math.isfinite(value) and value != 0 for feature, value in found)


@pytest.mark.parametrize("name", ["hat", "arf"])
def test_trees_agree_in_sign_with_the_driving_feature(models, name):
    high = dict(reasons(models[name], point(0.95), k=4))
    low = dict(reasons(models[name], point(0.05), k=4))
    assert high["driver"] > 0 and low["driver"] < 0
    assert max(high, key=lambda f: abs(high[f])) == "driver"
    assert max(low, key=lambda f: abs(low[f])) == "driver"


def test_tree_path_contributions_add_up_to_leaf_share_minus_root_share(models):
    model = models["hat"]
    x = point(0.8)
    path = list(model._root.walk(x))

    def share(node):
        return node.stats.get(True, 0.0) / sum(node.stats.values())

    assert sum(contributions(model, x).values()) == pytest.approx(share(path[-1]) - share(path[0]))


def test_forest_contributions_decompose_the_forest_vote():
    # Majority-class leaves predict their class share, so the weighted vote of the
    # members minus the weighted vote of their roots is what the reasons explain.
    model = forest.ARFClassifier(n_models=5, leaf_prediction="mc", seed=4)
    for x, y in synthetic(2_000):
        model.learn_one(x, y)
    x = point(0.8)
    weights = [metric.get() for metric in model._metrics]
    assert len(set(weights)) > 1
    root_shares = [member._root.stats.get(True, 0.0) / sum(member._root.stats.values()) for member in model]
    baseline = sum(w * share for w, share in zip(weights, root_shares)) / sum(weights)
    assert sum(contributions(model, x).values()) == pytest.approx(model.predict_proba_one(x)[True] - baseline)


@pytest.mark.parametrize("name", ["logreg", "hat", "arf"])
def test_an_untrained_model_gives_no_reasons_and_explaining_leaves_x_alone(name):
    model = make_model(name)
    x = point(0.5)
    assert reasons(model, x) == []
    assert x == point(0.5)


def test_an_unsupported_model_is_refused():
    with pytest.raises(TypeError, match="GaussianNB"):
        reasons(naive_bayes.GaussianNB(), point(0.5))


@pytest.mark.parametrize("name", ["logreg", "hat", "arf"])
def test_score_with_reasons_gives_the_models_own_probability_and_reasons(name):
    from scorer.propensity import score_with_reasons

    model = trained(name, 600)
    for driver in (0.1, 0.5, 0.9):
        x = point(driver)
        probability, why = score_with_reasons(model, x, k=2)
        assert probability == model.predict_proba_one(x)[True]
        assert why == reasons(model, x, k=2)


def test_time_of_day_is_context_never_a_reason():
    from scorer.features import FEATURE_NAMES
    from scorer.propensity.explain import CONTEXT_FEATURES, reasons
    from scorer.propensity.registry import make_model

    assert CONTEXT_FEATURES <= set(FEATURE_NAMES)
    model = make_model("logreg")
    for i in range(300):
        # The hour alone decides the label: the model leans on it, the reasons never name it.
        model.learn_one({"hour_sin": float(i % 2), "carts": float(i % 3)}, i % 2 == 1)
    given = [name for name, _ in reasons(model, {"hour_sin": 1.0, "carts": 2.0}, k=3)]
    assert given == ["carts"]
