"""Prometheus metrics of a worker, in one registry per worker.

Names follow Prometheus conventions: the ``scorer_`` prefix, base units,
``_total`` for counters, ``_seconds`` for durations, and never a user or item
id as a label (their number is unbounded).

Every labelled series is there from the first scrape, for the label values known in
advance (input topics and event types, rejection reasons, model roles, quality metrics,
the new/returning segments): counters at 0, and quality gauges at NaN until there is a
quality to report, so a dashboard panel shows a flat line or a gap, never "No data".
The client's own process, platform and garbage-collector collectors are registered too
(``process_*``, ``python_*``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from scorer.events import CLICK_TYPES, CONSENT_ACTIONS
from scorer.segments import RFM_SEGMENTS
from scorer.settings import Settings
from scorer.worker.wiring import user_model

__all__ = ["CONTENT_TYPE_LATEST", "GaugeRefresher", "REJECT_REASONS", "ScorerMetrics"]

#: Reasons a message is dead-lettered (README, "Rejected input"); their counters start at 0.
REJECT_REASONS = (
    "malformed_json",
    "invalid_utf8",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "unknown_type",
    "bad_timestamp",
    "future_timestamp",
    "too_large",
    "missing_value",
    "missing_key",
    "key_mismatch",
    "processing_error",
)
#: Metrics of the live quality report per scope, as exported (milliseconds turned into seconds).
_QUALITY_METRICS = {
    "window": ("count", "positive_rate", "mean_score", "roc_auc", "log_loss", "brier", "ece",
               "delay_seconds_mean", "delay_seconds_p50", "delay_seconds_p95"),
    "cumulative": ("count", "positive_rate", "mean_score", "roc_auc", "log_loss", "brier", "ece", "delay_seconds_mean"),
}
_SEGMENT_METRICS = ("count", "mean_score", "positive_rate", "calibration_gap", "ece")
#: Segments every worker has from the start (devices and channels are whatever the traffic says).
# Quality dimensions whose values are known in advance, exported at NaN before their first label.
_KNOWN_SEGMENTS = {"user": ("new", "returning"), "rfm": RFM_SEGMENTS}
_NAN = float("nan")


def _numbers(values: dict[str, Any]) -> list[tuple[str, float]]:
    """The numeric entries of a report, with millisecond figures turned into seconds; None as NaN.

    >>> _numbers({"count": 0, "roc_auc": None, "delay_ms_p50": 1500, "label": "x"})
    [('count', 0.0), ('roc_auc', nan), ('delay_seconds_p50', 1.5)]
    """
    found = []
    for name, value in values.items():
        if value is None:
            value = _NAN
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        parts = name.split("_")
        if "ms" in parts:
            parts[parts.index("ms")] = "seconds"
            name, value = "_".join(parts), value / 1000
        found.append((name, float(value)))
    return found

# From milliseconds (live traffic) to a day (replays of history).
_EVENT_AGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400)
_PROCESSING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
_BYTES_BUCKETS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384)


class ScorerMetrics:
    """Every series a worker exports, with label children cached for the hot path."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # What prometheus_client registers by default, in this worker's own registry.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.consumed = Counter("scorer_events_consumed", "Input messages consumed.", ["topic", "type"], registry=r)
        self.rejected = Counter("scorer_events_rejected", "Input messages sent to the dead-letter topic.", ["reason"], registry=r)
        self.replayed = Counter("scorer_events_replayed", "Redelivered messages the user state already held.", registry=r)
        self.suppressed = Counter("scorer_events_suppressed", "Events of opted-out users: not scored, not learned from.", registry=r)
        self.duplicates = Counter("scorer_events_duplicate", "Events whose event id the user's record had already seen: ignored.", registry=r)
        self.late = Counter("scorer_events_late", "Events behind their partition's clock by more than the lateness bound (handled as usual).", ["topic"], registry=r)
        self.aligned_buffered = Gauge("scorer_align_buffered_events", "Accepted events waiting for their turn in event time across input topics.", registry=r)
        self.consent = Counter("scorer_consent_requests", "Consent requests applied.", ["action"], registry=r)
        self.erasure = Histogram(
            "scorer_erasure_seconds",
            "From an erasure request's Kafka timestamp to its user's state deleted and tombstones sent.",
            buckets=_EVENT_AGE_BUCKETS,
            registry=r,
        )
        self.published = Counter("scorer_scores_published", "Records published to an output topic.", ["topic"], registry=r)
        self.event_to_publish = Histogram(
            "scorer_event_time_to_publish_seconds",
            "From an event's own timestamp to the publication of its score.",
            buckets=_EVENT_AGE_BUCKETS,
            registry=r,
        )
        self.record_to_publish = Histogram(
            "scorer_record_to_publish_seconds",
            "From the input record's Kafka timestamp (produce time) to the publication of its score.",
            buckets=_EVENT_AGE_BUCKETS,
            registry=r,
        )
        self.consume_to_publish = Histogram(
            "scorer_consume_to_publish_seconds",
            "From the worker receiving a message to publishing its score.",
            buckets=_PROCESSING_BUCKETS,
            registry=r,
        )
        self.lag = Gauge("scorer_consumer_lag_records", "Records behind the partition's end.", ["topic", "partition"], registry=r)
        self.publish_failures = Counter(
            "scorer_publish_failures", "Records librdkafka reported undeliverable (scores, lists, DLQ, changelog).", registry=r
        )
        self.rebalances = Counter("scorer_rebalances", "Partition assignments received.", registry=r)
        self.commit = Histogram("scorer_commit_seconds", "Offset commits, including the state flush before each.", buckets=_PROCESSING_BUCKETS, registry=r)
        self.flushed = Counter("scorer_state_records_flushed", "User records written to store and changelog.", registry=r)
        self.record_bytes = Histogram("scorer_state_record_bytes", "Serialized size of flushed user records.", buckets=_BYTES_BUCKETS, registry=r)
        self.expired = Counter("scorer_users_expired", "Users deleted after being idle beyond the state TTL.", registry=r)
        self.users = Gauge("scorer_users_in_state", "Users held in this worker's table partitions.", registry=r)
        self.state_bytes = Gauge(
            "scorer_state_bytes", "Bytes of user state held locally (RocksDB's live-data estimate plus memtables).", registry=r
        )
        self.label_queue = Gauge("scorer_label_queue_users", "Users with a scored click waiting for its conversion window to close.", registry=r)
        self.learned = Counter("scorer_model_examples_learned", "Labelled examples the propensity model learned.", ["label"], registry=r)
        self.next_item = Gauge(
            "scorer_recommendation_quality",
            "Next-item quality of the recommendation lists over the last 1,000 checked views (hr10, hr20, mrr10, mrr20).",
            ["metric"],
            registry=r,
        )
        self.next_item_lists = Gauge("scorer_recommendation_checked_lists", "Lists in the quality window.", registry=r)
        self.quality = Gauge(
            "scorer_model_quality",
            "Prequential quality of the published propensity scores, over the sliding window or since start "
            "(roc_auc, log_loss, brier, ece, positive_rate, mean_score, examples, label delays in seconds).",
            ["scope", "metric"],
            registry=r,
        )
        self.segment_quality = Gauge(
            "scorer_model_segment_quality",
            "Mean score, positive rate and calibration of the propensity scores per segment (new/returning user, device, channel).",
            ["dimension", "segment", "metric"],
            registry=r,
        )
        self.windowed_log_loss = Gauge(
            "scorer_model_windowed_log_loss", "Windowed prequential log loss of the champion and of its challenger.", ["role"], registry=r
        )
        self.drifts = Counter("scorer_model_drifts", "Drifts ADWIN detected in the champion's loss.", registry=r)
        self.promotions = Counter("scorer_model_promotions", "Challengers promoted to champion.", registry=r)
        self.checkpoints = Counter("scorer_model_checkpoints", "Model snapshots written.", registry=r)
        self.checkpoints_rejected = Counter(
            "scorer_model_checkpoints_rejected", "Snapshots refused at start because their HMAC did not verify.", registry=r
        )
        self.checkpoint_age = Gauge("scorer_model_checkpoint_age_seconds", "Seconds since the last model snapshot.", registry=r)
        self.checkpoint_bytes = Gauge("scorer_model_checkpoint_bytes", "Size of the last model snapshot.", registry=r)
        self.checkpoint_seconds = Histogram(
            "scorer_model_checkpoint_seconds", "Time to seal and publish a snapshot.", buckets=_PROCESSING_BUCKETS, registry=r
        )
        # Label values are bounded: the RFM segment names, and cluster ids below SCORER_SEGMENT_CLUSTERS.
        self.segment_users = Gauge(
            "scorer_segment_users", "Users updated in the segment model's active window, per segment.", ["segmentation", "segment"], registry=r
        )
        self.segment_purchase_rate = Gauge(
            "scorer_segment_purchase_rate",
            "Share of a segment's users who bought in the 7 days before their latest update.",
            ["segmentation", "segment"],
            registry=r,
        )
        self._segments_seen: set[tuple[str, str]] = set()
        self._model_counts = (0, 0)
        self._consumed: dict[tuple[str, str], Counter] = {}
        self._rejected: dict[str, Counter] = {}
        self._published: dict[str, Counter] = {}
        self._initialise(settings or Settings())

    def _initialise(self, settings: Settings) -> None:
        """Create every labelled series whose label values are known before any event."""
        kinds = {
            settings.topic_clickstream: (*CLICK_TYPES, "invalid"),
            settings.topic_purchases: ("purchase", "invalid"),
            settings.topic_consent: (*CONSENT_ACTIONS, "invalid", "tombstone"),
        }
        for topic, types in kinds.items():
            for kind in types:
                self._consumed[(topic, kind)] = self.consumed.labels(topic=topic, type=kind)
            self.late.labels(topic=topic)
        for reason in REJECT_REASONS:
            self._rejected[reason] = self.rejected.labels(reason=reason)
        for topic in (settings.topic_scores_propensity, settings.topic_scores_recommendations):
            self._published[topic] = self.published.labels(topic=topic)
        for action in CONSENT_ACTIONS:
            self.consent.labels(action=action)
        for label in ("positive", "negative"):
            self.learned.labels(label=label)
        for name in ("hr10", "hr20", "mrr10", "mrr20"):
            self.next_item.labels(metric=name)
        for scope, names in _QUALITY_METRICS.items():
            for name in names:
                self.quality.labels(scope=scope, metric=name).set(0.0 if name == "count" else _NAN)
        for dimension, segments in _KNOWN_SEGMENTS.items():
            for segment in segments:
                for name in _SEGMENT_METRICS:
                    self.segment_quality.labels(dimension=dimension, segment=segment, metric=name).set(
                        0.0 if name == "count" else _NAN
                    )
        for role in ("champion", "challenger"):
            self.windowed_log_loss.labels(role=role).set(_NAN)

    def count_consumed(self, topic: str, kind: str) -> None:
        child = self._consumed.get((topic, kind))
        if child is None:
            child = self._consumed[(topic, kind)] = self.consumed.labels(topic=topic, type=kind)
        child.inc()

    def count_late(self, topic: str) -> None:
        self.late.labels(topic=topic).inc()

    def count_rejected(self, reason: str) -> None:
        child = self._rejected.get(reason)
        if child is None:
            child = self._rejected[reason] = self.rejected.labels(reason=reason)
        child.inc()

    def count_published(self, topic: str) -> None:
        child = self._published.get(topic)
        if child is None:
            child = self._published[topic] = self.published.labels(topic=topic)
        child.inc()

    def update_model(self, model: Any, quality: dict[str, Any], last_checkpoint_s: float | None, now_s: float) -> None:
        """Copy a model's status and quality report into the gauges (at scrape time)."""
        for scope in ("window", "cumulative"):
            for name, value in _numbers(quality.get(scope, {})):
                self.quality.labels(scope=scope, metric=name).set(value)
        for dimension, segments in quality.get("segments", {}).items():
            for segment, values in segments.items():
                for name, value in _numbers(values):
                    self.segment_quality.labels(dimension=dimension, segment=segment, metric=name).set(value)
        status = model.status()
        for role in ("champion", "challenger"):
            loss = status.get(f"{role}_log_loss")
            # NaN while there is none (no challenger, or no example yet): a dropped challenger's last loss must not linger.
            self.windowed_log_loss.labels(role=role).set(_NAN if loss is None else loss)
        drifts, promotions = status.get("drifts", 0), status.get("promotions", 0)
        # A model loaded from a snapshot may count from anywhere: a counter can only go up.
        self.drifts.inc(max(drifts - self._model_counts[0], 0))
        self.promotions.inc(max(promotions - self._model_counts[1], 0))
        self._model_counts = (drifts, promotions)
        if last_checkpoint_s is not None:
            self.checkpoint_age.set(now_s - last_checkpoint_s)

    def update_segments(self, summary: dict[str, Any]) -> None:
        """Copy the segment model's summary (``GET /segments``) into the gauges; emptied segments read 0."""
        current = set()
        for segmentation, key in (("rfm", "rfm"), ("cluster", "clusters")):
            for segment, values in summary.get(key, {}).items():
                current.add((segmentation, segment))
                self.segment_users.labels(segmentation=segmentation, segment=segment).set(values["users"])
                self.segment_purchase_rate.labels(segmentation=segmentation, segment=segment).set(values["purchase_rate_7d"])
        for segmentation, segment in self._segments_seen - current:
            self.segment_users.labels(segmentation=segmentation, segment=segment).set(0)
        self._segments_seen |= current

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class GaugeRefresher:
    """Refresh the series that are read rather than counted, at each scrape and every few seconds.

    Lag, users in state, the label queue, live quality and recommendation quality are
    read off the worker's objects; learned examples and publish failures are counters
    fed from monotone totals, so a total that restarts from a snapshot never makes a
    counter go down (Prometheus refuses a negative increment, and the timer would die).
    """

    def __init__(self, metrics: ScorerMetrics) -> None:
        self.metrics = metrics
        self._learned = (0, 0)
        self._failures = 0

    def refresh(
        self,
        processor: Any,
        store: Any,
        ends: Iterable[tuple[str, int, int]],
        publish_failures: int,
        last_checkpoint_s: float | None,
        now_s: float,
    ) -> None:
        """``ends`` holds (topic, partition, end offset) of each owned input partition."""
        metrics = self.metrics
        pipeline = processor.pipeline
        for topic, partition, end in ends:
            done = processor.offsets.get((topic, partition), -1) + 1
            metrics.lag.labels(topic=topic, partition=str(partition)).set(max(end - done, 0))
        metrics.users.set(store.count())
        metrics.state_bytes.set(store.size_bytes())
        metrics.update_model(pipeline.model, pipeline.quality.report(), last_checkpoint_s, now_s)
        metrics.label_queue.set(len(processor.engine.expiries))
        positives, total = pipeline.learned_positive, pipeline.learned
        seen_positives, seen_total = self._learned
        metrics.learned.labels(label="positive").inc(max(positives - seen_positives, 0))
        metrics.learned.labels(label="negative").inc(max((total - positives) - (seen_total - seen_positives), 0))
        self._learned = (positives, total)
        metrics.publish_failures.inc(max(publish_failures - self._failures, 0))
        self._failures = publish_failures
        live = processor.engine.next_item.result()
        for name in ("hr10", "hr20", "mrr10", "mrr20"):
            metrics.next_item.labels(metric=name).set(getattr(live, name))
        metrics.next_item_lists.set(live.count)
        segments = user_model(processor.engine.user_models, "segments")
        if segments is not None:
            metrics.update_segments(segments.summary())
