import json
import math
import random

import pytest

from scorer.propensity import metrics
from scorer.propensity import OTHER, UNKNOWN, QualityTracker


def stream(n: int, seed: int = 7, decimals: int | None = 4):
    """Scores skewed low like purchase propensities, labels drawn from them."""
    rng = random.Random(seed)
    for i in range(n):
        score = rng.random() ** 2
        if decimals is not None:
            score = round(score, decimals)
        yield score, rng.random() < score, 1_000 * (i % 97)


def expected(examples) -> dict:
    labels = [label for _, label, _ in examples]
    scores = [score for score, _, _ in examples]
    return {
        "count": len(labels),
        "roc_auc": metrics.roc_auc(labels, scores),
        "log_loss": metrics.log_loss(labels, scores),
        "brier": metrics.brier(labels, scores),
        "ece": metrics.expected_calibration_error(labels, scores),
        "positive_rate": sum(labels) / len(labels),
        "mean_score": sum(scores) / len(scores),
        "delay_ms_mean": sum(delay for _, _, delay in examples) / len(examples),
    }


def assert_matches(actual: dict, wanted: dict, **tolerance) -> None:
    for name, value in wanted.items():
        assert actual[name] == pytest.approx(value, **tolerance), name


def test_window_and_cumulative_figures_match_the_batch_metrics_on_the_same_examples():
    examples = list(stream(1_300))
    tracker = QualityTracker(window=500)
    for score, label, delay in examples:
        tracker.add(score, label, delay)
    report = tracker.report()
    assert_matches(report["window"], expected(examples[-500:]), rel=1e-9)
    assert_matches(report["cumulative"], expected(examples), rel=1e-9)


def test_the_window_slides_one_example_at_a_time():
    examples = list(stream(40, seed=3))
    tracker = QualityTracker(window=10)
    for end, (score, label, delay) in enumerate(examples, start=1):
        tracker.add(score, label, delay)
        window = tracker.report()["window"]
        assert window["count"] == min(end, 10)
        assert window["mean_score"] == pytest.approx(expected(examples[max(0, end - 10) : end])["mean_score"])
    assert tracker.report()["cumulative"]["count"] == 40


def test_auc_of_unrounded_scores_is_exact_up_to_the_score_resolution():
    examples = list(stream(3_000, seed=11, decimals=None))
    tracker = QualityTracker(window=3_000)
    for score, label, delay in examples:
        tracker.add(score, label, delay)
    exact = expected(examples)["roc_auc"]
    report = tracker.report()
    assert report["cumulative"]["roc_auc"] == pytest.approx(exact, abs=1e-5)
    assert report["window"]["roc_auc"] == report["cumulative"]["roc_auc"]


def test_ties_count_half():
    tracker = QualityTracker()
    for score, label in [(0.5, True), (0.5, False), (0.7, True), (0.2, False)]:
        tracker.add(score, label, 0)
    report = tracker.report()
    assert report["window"]["roc_auc"] == report["cumulative"]["roc_auc"] == 0.875


def test_undefined_figures_are_none_and_the_report_is_strict_json():
    tracker = QualityTracker()
    empty = tracker.report()
    assert empty["window"]["count"] == empty["cumulative"]["count"] == 0
    assert empty["window"]["log_loss"] is None and empty["cumulative"]["roc_auc"] is None
    tracker.add(0.3, False, 10, {"device": "mobile"})
    tracker.add(0.6, False, 20, {"device": "mobile"})
    report = tracker.report()
    assert report["window"]["roc_auc"] is None and report["cumulative"]["roc_auc"] is None
    assert report["window"]["log_loss"] == pytest.approx(-(math.log(0.7) + math.log(0.4)) / 2)
    json.dumps(report, allow_nan=False)


def test_a_certain_miss_costs_the_clipped_log_loss_not_infinity():
    tracker = QualityTracker()
    tracker.add(0.0, True, 0)
    report = tracker.report()
    assert report["window"]["log_loss"] == pytest.approx(-math.log(1e-15))
    assert report["cumulative"]["log_loss"] == pytest.approx(-math.log(1e-15))


def test_label_delay_over_the_window():
    tracker = QualityTracker(window=100)
    tracker.add(0.5, True, 10_000_000)  # slides out
    for delay in range(1, 101):
        tracker.add(0.5, delay % 2 == 0, delay)
    tracker.add(0.5, True, -5)  # a label stamped before its click counts as no delay
    window = tracker.report()["window"]
    delays = list(range(2, 101)) + [0]
    assert window["delay_ms_mean"] == pytest.approx(sum(delays) / 100)
    assert window["delay_ms_p50"] == pytest.approx(50.5)
    assert window["delay_ms_p95"] == pytest.approx(95.05)


def test_invalid_scores_are_counted_not_added():
    tracker = QualityTracker()
    for score in (math.nan, 1.5, -0.1):
        tracker.add(score, True, 0)
    tracker.add(0.4, True, 0)
    report = tracker.report()
    assert report["rejected"] == 3
    assert report["cumulative"]["count"] == report["window"]["count"] == 1


def test_segments_are_windowed_and_match_the_batch_metrics_of_their_examples():
    rng = random.Random(5)
    tracker = QualityTracker(window=400)
    examples = []
    for score, label, delay in stream(1_000, seed=5):
        device = rng.choice(["mobile", "desktop"])
        tracker.add(score, label, delay, {"device": device, "user": "new"})
        examples.append((score, label, device))
    segments = tracker.report()["segments"]
    for device in ("mobile", "desktop"):
        mine = [(score, label) for score, label, d in examples[-400:] if d == device]
        scores = [score for score, _ in mine]
        labels = [label for _, label in mine]
        got = segments["device"][device]
        assert got["count"] == len(mine)
        assert got["mean_score"] == pytest.approx(sum(scores) / len(scores))
        assert got["positive_rate"] == pytest.approx(sum(labels) / len(labels))
        assert got["calibration_gap"] == pytest.approx(got["mean_score"] - got["positive_rate"])
        assert got["ece"] == pytest.approx(metrics.expected_calibration_error(labels, scores))
    assert segments["user"]["new"]["count"] == 400


def test_segment_values_are_capped_and_the_rest_folded_into_other():
    tracker = QualityTracker(max_segment_values=4, max_segment_dimensions=2)
    for i in range(10):
        tracker.add(0.5, True, 0, {"channel": f"c{i}", "device": None, "user_id": f"u{i}"})
    segments = tracker.report()["segments"]
    assert list(segments["channel"]) == ["c0", "c1", "c2", OTHER]
    assert segments["channel"][OTHER]["count"] == 7
    assert segments["device"] == {UNKNOWN: segments["device"][UNKNOWN]}
    assert "user_id" not in segments


def test_a_segment_that_left_the_window_stays_listed_with_no_figures():
    tracker = QualityTracker(window=2)
    tracker.add(0.5, True, 0, {"channel": "email"})
    tracker.add(0.5, True, 0)
    tracker.add(0.5, False, 0, {"channel": "ads"})
    channel = tracker.report()["segments"]["channel"]
    assert channel["email"] == {
        "count": 0,
        "mean_score": None,
        "positive_rate": None,
        "calibration_gap": None,
        "ece": None,
    }
    assert channel["ads"]["count"] == 1


def test_state_round_trips_through_json_and_keeps_counting_the_same():
    tracker = QualityTracker(window=300, max_segment_values=3)
    rng = random.Random(9)
    examples = [(s, y, d, {"device": rng.choice("abcde")}) for s, y, d in stream(1_000, seed=9, decimals=None)]
    for example in examples[:700]:
        tracker.add(*example)
    tracker.add(2.0, True, 0)
    restored = QualityTracker.from_state(json.loads(json.dumps(tracker.to_state(), allow_nan=False)))
    assert restored.report() == tracker.report()
    for example in examples[700:]:
        tracker.add(*example)
        restored.add(*example)
    assert restored.report() == tracker.report()


def test_a_restored_tracker_can_take_a_smaller_window_keeping_the_latest_examples():
    tracker = QualityTracker(window=100)
    examples = list(stream(100, seed=2))
    for example in examples:
        tracker.add(*example)
    smaller = QualityTracker.from_state(tracker.to_state(), window=10)
    assert smaller.report()["window"]["mean_score"] == pytest.approx(expected(examples[-10:])["mean_score"])
    assert smaller.report()["cumulative"] == tracker.report()["cumulative"]


def test_unknown_state_versions_are_refused():
    state = QualityTracker().to_state()
    state["version"] = 99
    with pytest.raises(ValueError, match="version"):
        QualityTracker.from_state(state)


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"bins": 0}, {"auc_resolution": 0.0}])
def test_nonsense_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        QualityTracker(**kwargs)
