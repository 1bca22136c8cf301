"""A backlog read topic by topic learns what the same events learn in event-time order."""

from __future__ import annotations

import itertools

import orjson

from scorer.datasets import TrafficGenerator
from scorer.events import partition_for
from scorer.scoring import InputAligner
from scorer.settings import Settings
from tests.unit.worker.test_processor import SETTINGS, click, make_processor
from tests.strategies import T0

TOPICS = {"click": SETTINGS.topic_clickstream, "purchase": SETTINGS.topic_purchases}


def traffic(n: int) -> list[tuple[str, dict]]:
    return [(TOPICS[kind], event) for kind, event in itertools.islice(TrafficGenerator(users=60, items=40, seed=3), n)]


def messages(events: list[tuple[str, dict]]) -> list[tuple[str, int, int, bytes, bytes]]:
    """Each event as (topic, partition, offset, key, value), offsets counted per topic partition."""
    offsets: dict[tuple[str, int], int] = {}
    out = []
    for topic, event in events:
        key = event["user_id"].encode()
        partition = partition_for(key, SETTINGS.partitions)
        offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
        out.append((topic, partition, offset, key, orjson.dumps(event)))
    return out


def run_aligned(arrivals, fetched_ends):
    """Feed ``arrivals`` through the aligner the way the worker does; ``fetched_ends`` are the broker ends."""
    processor, publisher, _, _ = make_processor()
    aligner: InputAligner = InputAligner(3, max_idle_ms=10_000)
    sources = {topic: index for index, topic in enumerate(SETTINGS.input_topics)}
    fetched: dict[tuple[str, int], int] = {}
    for topic, partition, offset, key, value in arrivals:
        fetched[(topic, partition)] = offset

        def behind(source: int, partition: int = partition) -> bool:
            name = SETTINGS.input_topics[source]
            return fetched.get((name, partition), -1) + 1 < fetched_ends.get((name, partition), 0)

        accepted = processor.accept(topic, partition, offset, key, value)
        if accepted is not None:
            aligner.add(partition, sources[topic], accepted.event.ts, accepted, now_ms=0)
            for ready in aligner.release(partition, behind, now_ms=0):
                processor.apply(ready)
    assert aligner.buffered == 0
    return processor, publisher


def test_a_backlog_read_clicks_first_learns_the_same_labels_and_scores_as_live_order():
    # One partition: the model is shared by all partitions, so the order of learning across
    # partitions (which no fetch pattern fixes) is kept out of the comparison.
    ordered = [m for m in messages(traffic(12_000)) if m[1] == 0]
    ends = {}
    for topic, partition, offset, _, _ in ordered:
        ends[(topic, partition)] = offset + 1
    live, live_out = run_aligned(ordered, ends)
    # The backlog: every click of the partition first, then its purchases, as a fetch may return them.
    backlog = sorted(ordered, key=lambda m: (m[1], m[0] != SETTINGS.topic_clickstream, m[2]))
    caught_up, caught_up_out = run_aligned(backlog, ends)
    assert live.pipeline.learned_positive > 10
    assert (caught_up.pipeline.learned, caught_up.pipeline.learned_positive) == (live.pipeline.learned, live.pipeline.learned_positive)
    scores = lambda out: sorted(orjson.loads(r.value)["score"] for r in out.on(SETTINGS.topic_scores_propensity))
    assert scores(caught_up_out) == scores(live_out)
    features = lambda processor: {key: processor.cache.get(0, key).state.to_fields() for key in {m[3] for m in ordered}}
    assert features(caught_up) == features(live)


def test_without_alignment_the_same_backlog_learns_positives_as_negatives():
    """The failure alignment prevents: windows close before the purchases that convert them are read."""
    ordered = messages(traffic(4_000))
    live, _ = make_processor()[:2]
    for message in ordered:
        live.process(*message)
    backlog, _ = make_processor()[:2]
    for message in sorted(ordered, key=lambda m: (m[1], m[0] != SETTINGS.topic_clickstream, m[2])):
        backlog.process(*message)
    assert backlog.pipeline.learned_positive < live.pipeline.learned_positive


def test_a_click_dated_far_ahead_of_its_record_is_dead_lettered_and_moves_no_clock():
    processor, publisher, store, _ = make_processor()
    record_s = T0 / 1000
    processor.process(SETTINGS.topic_clickstream, 3, 0, b"u1", click("u1", 1, T0), record_ts=record_s)
    future = T0 + 75 * 365 * 86_400_000
    processor.process(SETTINGS.topic_clickstream, 3, 1, b"u2", click("u2", 1, future), record_ts=record_s)
    [dead] = publisher.on(SETTINGS.topic_dlq)
    assert dict(dead.headers)["scorer.reason"] == b"future_timestamp"
    assert processor.engine.is_idle(processor.cache.get(3, b"u1"), 3) is False
    assert processor.accounting()["unaccounted"] == 0


def test_a_late_event_is_counted_and_handled_as_usual():
    processor, publisher, _, _ = make_processor()
    processor.process(SETTINGS.topic_clickstream, 3, 0, b"u1", click("u1", 1, T0 + 2 * 3_600_000))
    processor.process(SETTINGS.topic_clickstream, 3, 1, b"u2", click("u2", 1, T0))
    assert processor.late == 1
    assert len(publisher.on(SETTINGS.topic_scores_propensity)) == 2


def test_an_opted_out_user_idle_past_the_ttl_is_still_suppressed_when_they_come_back():
    processor, publisher, _, _ = make_processor()
    engine = processor.engine
    processor.process(SETTINGS.topic_clickstream, 3, 0, b"u1", click("u1", 1, T0))
    consent = orjson.dumps({"event_id": "c1", "user_id": "u1", "ts": T0 + 1, "action": "opt_out"})
    processor.process(SETTINGS.topic_consent, 3, 0, b"u1", consent)
    later = T0 + 100 * 86_400_000
    processor.process(SETTINGS.topic_clickstream, 3, 1, b"u2", click("u2", 1, later))
    processor.cache.flush()
    swept = list(processor.cache.sweep(3, lambda record: engine.is_idle(record, 3), engine.after_ttl))
    assert swept[-1] == 1
    kept = processor.cache.get(3, b"u1")
    assert kept is not None and kept.opted_out and kept.state.ref_ts == 0
    before = len(publisher.on(SETTINGS.topic_scores_propensity))
    processor.process(SETTINGS.topic_clickstream, 3, 2, b"u1", click("u1", 2, later + 1))
    assert len(publisher.on(SETTINGS.topic_scores_propensity)) == before
    assert engine.suppressed == 1


def test_history_replayed_behind_newer_traffic_is_not_idle_at_once():
    processor, _, _, _ = make_processor()
    processor.process(SETTINGS.topic_clickstream, 3, 0, b"new", click("new", 1, T0 + 400 * 86_400_000))
    processor.process(SETTINGS.topic_clickstream, 3, 1, b"old", click("old", 1, T0))
    assert processor.engine.is_idle(processor.cache.get(3, b"old"), 3) is False


def test_every_consumed_message_is_accounted_for():
    processor, _, _, _ = make_processor()
    for message in messages(traffic(600)):
        processor.process(*message)
    processor.process(SETTINGS.topic_clickstream, 0, 999, b"x", b"{broken")
    processor.process(SETTINGS.topic_consent, 0, 5, b"x", None)
    counts = processor.accounting()
    assert counts["consumed"] == 602 and counts["unaccounted"] == 0
