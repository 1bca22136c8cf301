"""The segment model inside the engine and the processor: publication on change, consent, sizes."""

import orjson

from scorer.events import ClickEvent, ConsentEvent, PurchaseEvent, PurchaseItem
from scorer.propensity.model import PropensityModel
from scorer.scoring import MemoryStore, ScoringEngine, ScoringPipeline
from scorer.segments import Clusters, SegmentModel
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


def one_cluster() -> Clusters:
    """A clusterer warm from its first update (one centre): every user is in cluster 0."""
    return Clusters(n_clusters=1, warmup=1)


def test_sizes_count_users_updated_within_the_active_window():
    model = SegmentModel(one_cluster(), active_days=30)
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

    model = SegmentModel(one_cluster(), active_days=30)
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


class State:
    """The feature state's public attributes the segment model reads; one more order and session per step."""

    def __init__(self, step: int, ts: int) -> None:
        self.orders = self.sessions_total = step
        self.monetary = 20.0 * step
        self.last_purchase_ts = ts
        self.views_total, self.carts_total = 4 * step, step

    def current_x(self):
        return {"purchases_hl7d": 1.0}


class Nearest:
    """A clusterer stub: the nearest centre is whatever the test says."""

    def __init__(self) -> None:
        self.nearest: int | None = 1

    def learn(self, raw, current):
        return self.nearest

    def centre(self, cluster_id):
        return {}


def buy(model: SegmentModel, fields, step: int, ts: int):
    return model.observe(fields, purchase("u1", step, ts), State(step, ts))


def test_no_user_has_a_cluster_before_the_warm_up_ends():
    model = SegmentModel(Clusters(n_clusters=2, warmup=20, seed=1))
    for n in range(30):
        user, orders = f"u{n}", 1 + 9 * (n % 2)  # two kinds of users: one order, or ten
        fields, published = model.observe(None, purchase(user, 1, T0 + n * 1000), State(orders, T0 + n * 1000))
        if n < 19:
            assert published.cluster is None and model.describe(fields)["cluster"] is None
            assert model.summary()["clusters"] == {}, "a user without a cluster is in no cluster's size"
        else:
            assert published.cluster in (0, 1) and model.describe(fields)["cluster"] in (0, 1)
    summary = model.summary()
    assert summary["active_users"] == 30 and sum(c["users"] for c in summary["clusters"].values()) == 11


def test_a_user_stays_in_their_cluster_for_the_dwell_then_may_move():
    clusters = Nearest()
    model = SegmentModel(clusters, min_dwell_days=7)
    fields, out = buy(model, None, 1, T0)
    assert out.cluster == 1 and fields[-1] == T0, "the record keeps when the user entered their cluster"
    clusters.nearest = 2
    fields, out = buy(model, fields, 2, T0 + 3 * DAY)
    assert fields[7:] == [1, T0] and (out is None or out.cluster == 1), "three days in: the user stays"
    fields, out = buy(model, fields, 3, T0 + 7 * DAY - 1)
    assert fields[7:] == [1, T0] and (out is None or out.cluster == 1)
    fields, out = buy(model, fields, 4, T0 + 7 * DAY)
    assert out.cluster == 2 and fields[7:] == [2, T0 + 7 * DAY], "the dwell is over: the user moves"
    clusters.nearest = 1
    fields, out = buy(model, fields, 5, T0 + 8 * DAY)
    assert fields[7] == 2 and (out is None or out.cluster == 2), "a new dwell starts with the new cluster"
    # While a new clusterer warms up (a restart), a user keeps the id their record has.
    clusters.nearest = None
    fields, out = buy(model, fields, 6, T0 + 30 * DAY)
    assert fields[7:] == [2, T0 + 7 * DAY] and (out is None or out.cluster == 2)


def test_a_record_without_an_entry_time_may_move_at_once_and_no_dwell_moves_freely():
    clusters = Nearest()
    model = SegmentModel(clusters, min_dwell_days=7)
    old = [1, 1, T0, "new", 0, 0, 0, 1]  # eight fields: written before the dwell existed
    fields, out = buy(model, old, 2, T0 + DAY)
    assert fields[7] == 1 and len(fields) == 9
    clusters.nearest = 2
    fields, out = buy(model, old, 2, T0 + DAY)
    assert out.cluster == 2 and fields[7:] == [2, T0 + DAY]
    free = SegmentModel(clusters, min_dwell_days=0)
    fields, _ = buy(free, None, 1, T0)
    clusters.nearest = 0
    assert buy(free, fields, 2, T0 + 1)[0][7] == 0


def test_the_dwell_is_a_setting():
    from scorer.settings import Settings
    from scorer.worker import make_segments

    model = make_segments(Settings.from_env({"SCORER_SEGMENT_MIN_DWELL_DAYS": "2.5"}), lineage="t")
    assert model._dwell_ms == int(2.5 * DAY)
    assert make_segments(Settings(), lineage="t")._dwell_ms == 7 * DAY


def segmented_stream(model: SegmentModel, users: int, rounds: int, start: int = 0, fields: dict | None = None):
    """``rounds`` updates of ``users`` users of three kinds (few, some, many orders); their fields, and the outputs."""
    fields = {} if fields is None else fields
    outputs = []
    for step in range(start, start + rounds):
        for n in range(users):
            user, kind = f"u{n}", n % 3
            orders = 1 + step * (1, 3, 9)[kind]
            ts = T0 + step * DAY + n * 1000
            fields[user], out = model.observe(fields.get(user), purchase(user, orders, ts, 5.0), State(orders, ts))
            outputs.append((user, fields[user], out))
    return fields, outputs


def test_a_model_restored_from_its_state_assigns_the_same_clusters():
    from scorer.propensity.model import PropensityModel
    from scorer.scoring import ModelSnapshot, seal, unseal

    model = SegmentModel(Clusters(n_clusters=3, warmup=40, seed=5), min_dwell_days=2)
    fields, _ = segmented_stream(model, users=30, rounds=4)
    assert model.clusters.warm and {f[7] for f in fields.values()} - {None}
    # Through the worker's snapshot: the state rides in its JSON header.
    key = b"k" * 32
    sealed = seal(ModelSnapshot(PropensityModel("logreg", "t"), extra={"user_models": {"segments": model.to_state()}}), key)
    state = unseal(sealed, key).extra["user_models"]["segments"]
    restored = SegmentModel(Clusters(n_clusters=3, warmup=40, seed=5), min_dwell_days=2)
    restored.load_state(state)
    assert restored.version.split(".")[-1] == model.version.split(".")[-1]
    assert restored.rfm.cuts() == model.rfm.cuts() and restored.clusters.centres == model.clusters.centres
    # The same records and the same events from here on: the same clusters, RFM segments and publications.
    _, before = segmented_stream(model, users=30, rounds=4, start=4, fields=dict(fields))
    _, after = segmented_stream(restored, users=30, rounds=4, start=4, fields=dict(fields))
    assert after == before
    for x in ({"r": 1.0, "orders": 2.0}, {"r": 5.0, "orders": 30.0}, {"m": 3.0, "purchases_7d": 2.0}):
        raw = dict.fromkeys(model.clusters.names, 0.0) | x
        assert restored.clusters.assign(raw, None) == model.clusters.assign(raw, None)


def test_a_state_saved_in_warm_up_or_under_another_bound_restores_accordingly():
    warming = SegmentModel(Clusters(n_clusters=3, warmup=40, seed=5))
    segmented_stream(warming, users=10, rounds=2)
    restored = SegmentModel(Clusters(n_clusters=3, warmup=40, seed=5))
    restored.load_state(orjson.loads(orjson.dumps(warming.to_state())))
    assert not restored.clusters.warm and restored.clusters.learned == 20
    # Twenty more updates end the warm-up on both, with the same centres.
    segmented_stream(warming, users=10, rounds=2, start=2)
    segmented_stream(restored, users=10, rounds=2, start=2)
    assert restored.clusters.warm and restored.clusters.centres == warming.clusters.centres
    other = SegmentModel(Clusters(n_clusters=4, warmup=40, seed=5))
    other.load_state(orjson.loads(orjson.dumps(warming.to_state())))
    assert not other.clusters.warm and other.clusters.centres == [], "another bound: a new warm-up"
    assert other.rfm.cuts() == warming.rfm.cuts()


def test_workers_sharing_one_log_of_updates_hold_the_same_quantiles_and_cluster_ids():
    from scorer.segments import SegmentObservation

    # Two workers each update their own half of the users and publish the updates to one
    # log; each learns the whole log in its order, as SharedTraining does.
    log: list[bytes] = []
    workers = [SegmentModel(Clusters(n_clusters=3, warmup=40, seed=5)) for _ in range(2)]
    for worker in workers:
        worker.on_observation = lambda seen: log.append(seen.to_bytes())
    fields: dict[str, list] = {}
    read = {id(worker): 0 for worker in workers}
    for step in range(6):
        for n in range(40):
            user, kind = f"u{n}", n % 3
            orders = 1 + step * (1, 3, 9)[kind]
            ts = T0 + step * DAY + n * 1000
            worker = workers[n % 2]
            fields[user], _ = worker.observe(fields.get(user), purchase(user, orders, ts, 5.0), State(orders, ts))
        for worker in workers:  # both read the log to its end before the next day
            for raw in log[read[id(worker)]:]:
                worker.learn_observation(SegmentObservation.from_bytes(raw))
            read[id(worker)] = len(log)
    a, b = workers
    assert len(log) == 240 and a.rfm.learned == b.rfm.learned > 0
    assert a.rfm.cuts() == b.rfm.cuts() and a.clusters.warm and a.clusters.centres == b.clusters.centres
    # One numbering across workers: the same behaviour gets the same cluster id on both.
    ids = {f[7] for f in fields.values()} - {None}
    assert len(ids) > 1
    for x in ({"r": 1.0, "orders": 2.0}, {"r": 5.0, "orders": 30.0}, {"m": 3.0, "purchases_7d": 2.0}):
        raw = dict.fromkeys(a.clusters.names, 0.0) | x
        assert a.clusters.assign(raw, None) == b.clusters.assign(raw, None)
    # Each learned both halves: a worker learning alone would have learned its own 120.
    assert a.clusters.learned == b.clusters.learned == 240 and a.updates + b.updates == 240


def test_a_segment_observation_that_is_not_one_is_refused():
    import pytest

    from scorer.segments import SegmentObservation

    for raw in (b"{", b"[1, 2]", b'[1, 2, 3, [1, 2]]', b'[1, "x", 3, [0, 0, 0, 0, 0, 0, 0, 0]]'):
        with pytest.raises(ValueError):
            SegmentObservation.from_bytes(raw)
