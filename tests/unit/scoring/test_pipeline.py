import math

import orjson
import pytest

from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem, decode_click, decode_purchase
from scorer.datasets import TrafficGenerator
from scorer.features import FEATURE_NAMES
from scorer.propensity import MODELS, PropensityModel
from scorer.scoring import ScoringPipeline
from tests.strategies import T0

WINDOW_S = 1800


class RecordingModel(PropensityModel):
    def __init__(self) -> None:
        super().__init__("logreg", lineage="test")
        self.labels: list[bool] = []

    def learn(self, x, y) -> None:
        self.labels.append(y)
        super().learn(x, y)


def click(i: int, ts: int) -> ClickEvent:
    return ClickEvent(f"e{i}", "u", ts, "product_view", item_id="i", price=1.0)


def purchase(ts: int) -> PurchaseEvent:
    return PurchaseEvent(f"p{ts}", "u", ts, f"o{ts}", (PurchaseItem("i", 1.0),))


@pytest.mark.parametrize(("offset_s", "label"), [(WINDOW_S - 1, True), (WINDOW_S + 1, False)])
def test_purchase_inside_window_is_positive_and_outside_is_negative(offset_s, label):
    model = RecordingModel()
    pipeline = ScoringPipeline(model, window_s=WINDOW_S)
    record, score = pipeline.handle(None, click(1, T0))
    assert score is not None and model.labels == []
    record, _ = pipeline.handle(record, purchase(T0 + offset_s * 1000))
    # Learned once its window has closed, not before.
    assert pipeline.expire(record, T0 + WINDOW_S * 1000) is not None and model.labels == []
    pipeline.expire(record, T0 + WINDOW_S * 1000 + 1)
    assert model.labels == [label]


def test_each_example_is_learned_once():
    model = RecordingModel()
    pipeline = ScoringPipeline(model, window_s=WINDOW_S)
    record, _ = pipeline.handle(None, click(1, T0))
    record, _ = pipeline.handle(record, purchase(T0 + 1000))
    record, _ = pipeline.handle(record, purchase(T0 + 2000))
    record, _ = pipeline.handle(record, click(2, T0 + 10 * WINDOW_S * 1000))
    record, _ = pipeline.handle(record, purchase(T0 + 10 * WINDOW_S * 1000 + 1000))
    pipeline.expire(record, T0 + 100 * WINDOW_S * 1000)
    assert model.labels == [True, True]


def test_expire_turns_due_examples_into_negatives():
    model = RecordingModel()
    pipeline = ScoringPipeline(model, window_s=WINDOW_S)
    record, _ = pipeline.handle(None, click(1, T0))
    assert pipeline.next_due(record) == T0 + WINDOW_S * 1000
    assert pipeline.expire(record, T0 + WINDOW_S * 1000) is None or len(record.pending) == 1
    assert pipeline.expire(record, T0 + WINDOW_S * 1000 + 1) is None
    assert model.labels == [False] and len(record.pending) == 0


def test_duplicate_click_is_not_scored_twice():
    pipeline = ScoringPipeline(PropensityModel("logreg", lineage="t"))
    record, first = pipeline.handle(None, click(1, T0))
    record, again = pipeline.handle(record, click(1, T0))
    assert first is not None and again is None and len(record.pending) == 1


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_scores_a_probability_before_and_after_learning(name):
    model = PropensityModel(name, lineage="t")
    x = {"a": 1.0, "b": 0.0}
    assert 0.0 <= model.predict(x) <= 1.0
    model.learn(x, True)
    model.learn({"a": 0.0, "c": 2.0}, False)
    p = model.predict({"b": 1.0, "d": 5.0})
    assert 0.0 <= p <= 1.0 and math.isfinite(p)
    assert model.version == "t.2"


def exact_auc(labels: list[bool], scores: list[float]) -> float:
    pairs = sorted(zip(scores, labels))
    positives = sum(labels)
    negatives = len(labels) - positives
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2 * sum(label for _, label in pairs[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def test_exact_auc_helper_against_a_hand_computed_value():
    # Pairs (pos, neg): (0.9,0.1) win, (0.9,0.5) win, (0.4,0.1) win, (0.4,0.5) loss -> 3/4.
    assert exact_auc([True, False, True, False], [0.9, 0.1, 0.4, 0.5]) == 0.75


def test_model_learns_the_synthetic_ground_truth_well_above_chance():
    """Prequential: every click is scored before its label exists; AUC over the second half."""
    pipeline = ScoringPipeline(PropensityModel("logreg", lineage="t"), window_s=WINDOW_S)
    records: dict[str, object] = {}
    scored: list[tuple[str, int, float]] = []
    purchases: dict[str, list[int]] = {}
    for kind, doc in TrafficGenerator(users=1_000, items=500, seed=5).take(60_000):
        raw = orjson.dumps(doc)
        event = decode_click(raw) if kind == "click" else decode_purchase(raw)
        records[event.user_id], score = pipeline.handle(records.get(event.user_id), event)
        if score is not None:
            scored.append((event.user_id, event.ts, score.score))
        elif kind == "purchase":
            purchases.setdefault(event.user_id, []).append(event.ts)
    half = scored[len(scored) // 2 :]
    labels = [any(0 <= p - ts <= WINDOW_S * 1000 for p in purchases.get(u, [])) for u, ts, _ in half]
    auc = exact_auc(labels, [s for _, _, s in half])
    assert 0.05 < sum(labels) / len(labels) < 0.5
    assert auc > 0.7, auc


def test_learned_counts_survive_a_challenger_promotion():
    import random

    from scorer.propensity import ChampionChallenger
    from scorer.propensity import Resolved

    rng = random.Random(3)
    pipeline = ScoringPipeline(ChampionChallenger(PropensityModel("logreg", lineage="t")), window_s=WINDOW_S)
    width = len(FEATURE_NAMES)
    for i in range(6_000):
        a = rng.gauss(0.0, 1.0)
        values = [a] + [0.0] * (width - 1)
        # The concept flips half-way: a drift, a challenger, a promotion.
        pipeline.learn_example(Resolved(values, a > 0 if i < 3_000 else a < 0, 0.5, 1_000, "new||"))
    assert pipeline.model.promotions >= 1
    assert pipeline.learned == 6_000 > pipeline.model.learned
    assert pipeline.quality.report()["cumulative"]["count"] == 6_000



def test_an_example_kept_under_another_feature_vector_is_not_learned():
    from scorer.features import FEATURE_NAMES
    from scorer.propensity import PropensityModel, Resolved
    from scorer.scoring import ScoringPipeline

    pipeline = ScoringPipeline(PropensityModel("logreg", "t"))
    old = Resolved([0.5] * (len(FEATURE_NAMES) + 4), True, 0.1, 1_000, "new||")
    now = Resolved([0.5] * len(FEATURE_NAMES), True, 0.1, 1_000, "new||")
    pipeline._learn([old, now])
    assert pipeline.stale_examples == 1 and pipeline.learned == 1
