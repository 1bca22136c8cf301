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


def test_an_untrained_model_gives_no_reasons_and_explaining_leaves_x_alone():
    model = make_model("logreg")
    x = point(0.5)
    assert reasons(model, x) == []
    assert x == point(0.5)


def test_an_unsupported_model_is_refused():
    with pytest.raises(TypeError, match="GaussianNB"):
        reasons(naive_bayes.GaussianNB(), point(0.5))
    with pytest.raises(TypeError, match="ARFClassifier"):  # no longer registered, nor explained
        reasons(forest.ARFClassifier(n_models=2, seed=1), point(0.5))


def test_only_models_that_beat_a_constant_are_registered():
    with pytest.raises(ValueError, match="unknown model 'hat'; choose one of logreg"):
        make_model("hat")


def test_score_with_reasons_gives_the_models_own_probability_and_reasons():
    from scorer.propensity import score_with_reasons

    model = trained("logreg", 600)
    for driver in (0.1, 0.5, 0.9):
        x = point(driver)
        probability, why = score_with_reasons(model, x, k=2)
        assert probability == model.predict_proba_one(x)[True]
        assert why == reasons(model, x, k=2)


def test_the_vector_holds_no_clock_features():
    # Time of day and day of week cost quality on both files (benchmarks/propensity_ablation.py).
    from scorer.features import FEATURE_NAMES

    assert not {"hour_sin", "hour_cos", "dow_sin", "dow_cos"} & set(FEATURE_NAMES)
    assert "secs_since_last_event" in FEATURE_NAMES
