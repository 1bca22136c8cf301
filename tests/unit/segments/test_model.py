"""The segment model inside the engine and the processor: publication on change, consent, sizes."""

import orjson

from scorer.events import ClickEvent, ConsentEvent, PurchaseEvent, PurchaseItem
from scorer.propensity.model import PropensityModel
from scorer.scoring import MemoryStore, ScoringEngine, ScoringPipeline
from scorer.segments import SegmentModel
from scorer.settings import Settings
from scorer.worker import EventProcessor, RecordCache
from tests.fakes import MemoryPublisher

DAY = 86_400_000
T0 = 1_700_000_000_000
SETTINGS = Settings()


def purchase(user: str, n: int, ts: int, amount: float = 20.0) -> PurchaseEvent:
    return PurchaseEvent(f"{user}-p{n}", user, ts, f"{user}-o{n}", (PurchaseItem("i1", amount),))


def engine_with(model: SegmentModel) -> ScoringEngine:
    return ScoringEngine(ScoringPipeline(PropensityModel("logreg", "t")), MemoryStore(), user_models=[model])


def test_segments_are_published_on_the_first_event_and_on_changes_only():
    model = SegmentModel()
    engine = engine_with(model)
    engine.process(0, 0, 0, b"u1", ClickEvent("c1", "u1", T0, "product_view", item_id="i1"))
    [(name, first)] = engine.outputs
    assert name == "segments" and first.rfm_segment == "prospects"
    # More browsing in the same or a new session moves nothing, and costs no re-segmentation.
    engine.process(0, 0, 1, b"u1", ClickEvent("c2", "u1", T0 + 1000, "product_view", item_id="i2"))
    engine.process(0, 0, 2, b"u1", ClickEvent("c3", "u1", T0 + DAY, "product_view", item_id="i2"))
    assert engine.outputs == [] and model.updates == 1
    engine.process(1, 0, 0, b"u1", purchase("u1", 1, T0 + DAY + 1000))
    [(_, bought)] = engine.outputs
    assert (bought.rfm_segment, bought.event_id, bought.event_ts) == ("new", "u1-p1", T0 + DAY + 1000)
    # A second order in the same session waits for the session to end.
    engine.process(1, 0, 1, b"u1", purchase("u1", 2, T0 + DAY + 2000))
    assert engine.outputs == [] and model.updates == 2
    described = engine.describe(engine.store.get(0, b"u1"), "u1")["segments"]
    assert described["rfm"]["segment"] == "new"


def test_opted_out_users_get_no_segment_and_erased_users_leave_the_sizes():
    model = SegmentModel()
    engine = engine_with(model)
    for n, user in enumerate(("u1", "u2")):
        engine.process(1, 0, n, user.encode(), purchase(user, 1, T0 + n))
    assert model.summary()["active_users"] == 2
    engine.apply_consent(2, 0, 0, b"u1", ConsentEvent("k1", "u1", T0 + 10, "opt_out"))
    engine.process(1, 0, 2, b"u1", purchase("u1", 2, T0 + DAY))
    assert engine.outputs == [] and engine.store.get(0, b"u1").extras == {}
    engine.apply_consent(2, 0, 1, b"u2", ConsentEvent("k2", "u2", T0 + DAY, "erase"))
    summary = model.summary()
    assert summary["active_users"] == 1 and sum(s["users"] for s in summary["rfm"].values()) == 1


def test_sizes_count_users_updated_within_the_active_window():
    model = SegmentModel(active_days=30)
    engine = engine_with(model)
    engine.process(1, 0, 0, b"old", purchase("old", 1, T0))
    engine.process(1, 0, 1, b"new", purchase("new", 1, T0 + 31 * DAY))
    summary = model.summary()
    assert summary["active_users"] == 1
    assert summary["rfm"]["new"]["users"] == 1 and summary["rfm"]["new"]["purchase_rate_7d"] == 1.0
    assert set(summary["clusters"]["0"]["profile"]) >= {"recency_days", "orders", "purchases_7d"}


def test_the_processor_publishes_segments_and_tombstones_them_on_erasure():
    publisher = MemoryPublisher()
    cache = RecordCache(MemoryStore(), lambda p, k, v: None, publisher.flush)
    processor = EventProcessor(
        SETTINGS, ScoringPipeline(PropensityModel("logreg", lineage="t")), cache, publisher,
        clock=lambda: 1_800_000_000.0, user_models=[SegmentModel()],
    )
    doc = {"event_id": "p1", "user_id": "u1", "ts": T0, "order_id": "o1", "items": [{"item_id": "i1", "price": 5.0}]}
    processor.process(SETTINGS.topic_purchases, 0, 0, b"u1", orjson.dumps(doc))
    [published] = publisher.on(SETTINGS.topic_scores_segments)
    assert published.key == b"u1" and orjson.loads(published.value)["rfm"]["segment"] == "new"
    erase = {"event_id": "k1", "user_id": "u1", "ts": T0 + 1, "action": "erase"}
    processor.process(SETTINGS.topic_consent, 0, 0, b"u1", orjson.dumps(erase))
    tombstone = publisher.on(SETTINGS.topic_scores_segments)[-1]
    assert tombstone.key == b"u1" and tombstone.value is None


def test_segment_gauges_have_bounded_labels_and_empty_segments_read_zero():
    from scorer.worker import ScorerMetrics

    model = SegmentModel(active_days=30)
    engine = engine_with(model)
    engine.process(1, 0, 0, b"u1", purchase("u1", 1, T0))
    metrics = ScorerMetrics()
    metrics.update_segments(model.summary())
    text = metrics.exposition().decode()
    assert 'scorer_segment_users{segment="new",segmentation="rfm"} 1.0' in text
    assert 'scorer_segment_purchase_rate{segment="0",segmentation="cluster"} 1.0' in text
    engine.process(1, 0, 1, b"u2", purchase("u2", 1, T0 + 40 * DAY))  # u1 leaves the active window
    engine.apply_consent(2, 0, 0, b"u2", ConsentEvent("k", "u2", T0 + 41 * DAY, "erase"))
    metrics.update_segments(model.summary())
    assert 'scorer_segment_users{segment="new",segmentation="rfm"} 0.0' in metrics.exposition().decode()
    assert "u1" not in metrics.exposition().decode()


def test_get_segments_answers_from_the_workers_segment_model():
    from types import SimpleNamespace

    from scorer.worker import describe_segments

    model = SegmentModel()
    engine = engine_with(model)
    engine.process(1, 0, 0, b"u1", purchase("u1", 1, T0))
    view = SimpleNamespace(user_models=(model,), pipeline=engine.pipeline)
    summary = describe_segments(view)
    assert summary["rfm"]["new"]["users"] == 1
    # No label has resolved in the segment yet: its live quality is empty, not zero.
    assert summary["rfm"]["new"]["propensity"] == {"count": 0, "mean_score": None, "positive_rate": None, "calibration_gap": None}
    assert describe_segments(SimpleNamespace(user_models=(), pipeline=engine.pipeline)) is None


def test_clicks_are_judged_in_the_rfm_segment_they_were_scored_in():
    from types import SimpleNamespace

    from scorer.worker import describe_segments

    model = SegmentModel()
    engine = engine_with(model)
    window = engine.pipeline.window_ms
    # The first click has no segment yet (judged without one) and makes the user a prospect;
    # the purchase in the same session moves them only once the session ends.
    engine.process(0, 0, 0, b"u1", ClickEvent("c1", "u1", T0, "product_view", item_id="i1"))
    engine.process(1, 0, 0, b"u1", purchase("u1", 1, T0 + 1000))
    # Scored as a prospect; its event starts a new session and makes the user "new".
    engine.process(0, 0, 1, b"u1", ClickEvent("c2", "u1", T0 + 2 * window, "product_view", item_id="i1"))
    # Scored as "new"; the next event, after its window, makes it a negative judged in "new".
    score = engine.process(0, 0, 2, b"u1", ClickEvent("c3", "u1", T0 + 4 * window, "page_view"))
    engine.process(0, 0, 3, b"u1", ClickEvent("c4", "u1", T0 + 6 * window, "page_view"))
    quality = engine.pipeline.quality.report()["segments"]
    report = quality["rfm"]
    assert sum(quality["user"][kind]["count"] for kind in quality["user"]) == 3  # c1 too, without an RFM value
    assert report["prospects"]["count"] == 1 and report["prospects"]["positive_rate"] == 0.0
    assert report["new"]["count"] == 1 and report["new"]["positive_rate"] == 0.0
    judged = describe_segments(SimpleNamespace(user_models=(model,), pipeline=engine.pipeline))["rfm"]["new"]["propensity"]
    # The report rounds to six places.
    assert judged["count"] == 1 and judged["mean_score"] == judged["calibration_gap"] == round(score.score, 6)
