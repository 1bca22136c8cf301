"""The Faust app: input topics, the user table, the scoring agent and the web views.

:func:`create_app` builds everything from a :class:`Settings`; nothing is
configured at import time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import faust
from faust.types import ConsumerT

from events.partitioning import partition_for
from online_models.quality import QualityTracker
from online_models.snapshot import ModelSnapshot
from streams.checkpoints import Checkpoints
from streams.fetching import limit_fetch_wait
from streams.metrics import CONTENT_TYPE_LATEST, ScorerMetrics
from streams.processor import EventProcessor, make_pipeline, make_recommender
from streams.publisher import Publisher
from streams.security import faust_credentials
from streams.settings import Settings
from streams.training import POSITION_KEY as TRAINING_POSITION
from streams.training import SharedTraining
from streams.state import PartitionedStore, RecordCache

log = logging.getLogger(__name__)

USER_TABLE = "users"


class FlushBeforeCommit(faust.Sensor):
    """Writes the record cache to the changelog just before Faust commits offsets."""

    def __init__(self, cache_holder: "Worker", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._holder = cache_holder

    def on_commit_initiated(self, consumer: ConsumerT) -> Any:
        started = time.perf_counter()
        processor = self._holder.processor
        if processor is not None:
            processor.cache.flush()
            # Right after the flush, state and model reflect exactly the offsets about to be committed.
            self._holder.checkpoint_if_due()
        return started

    def on_commit_completed(self, consumer: ConsumerT, state: Any) -> None:
        self._holder.metrics.commit.observe(time.perf_counter() - state)


class Worker:
    """The scorer's Faust app and the objects its agent works with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # One directory per app: two apps sharing a RocksDB table would read each other's users.
        datadir = Path(settings.data_dir) / settings.app_id
        datadir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{host}" for host in settings.broker.split(",")],
            store="rocksdb://" if settings.store == "rocksdb" else "memory://",
            datadir=str(datadir),
            topic_partitions=settings.partitions,
            topic_replication_factor=settings.replication_factor,
            topic_disable_leader=True,
            web_port=settings.web_port,
            web_bind=settings.web_host,
            web_host=settings.web_host,
            canonical_url=settings.canonical_url,
            broker_session_timeout=settings.session_timeout_s,
            broker_heartbeat_interval=settings.heartbeat_interval_s,
            broker_commit_interval=settings.commit_interval_s,
            consumer_auto_offset_reset="earliest",
            broker_credentials=faust_credentials(settings),
        )
        self.users = self.app.Table(
            USER_TABLE,
            partitions=settings.partitions,
            key_type=bytes,
            value_type=bytes,
            schema=faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"),
        )
        self.inputs = self.app.topic(
            *settings.input_topics,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
        )
        self.publisher = Publisher(settings)
        self.metrics = ScorerMetrics()
        self._learned_reported = (0, 0)
        self._failures_reported = 0
        self._model_events_reported = (0, 0)
        self.checkpoints = Checkpoints(settings, self._publish_checkpoint, on_rejected=self._on_snapshot_rejected)
        self.pipeline = make_pipeline(settings, lineage=self._lineage())
        self.resumed_from: dict[str, Any] | None = None
        resumed_positions = self._resume()
        self._last_checkpoint = time.monotonic()
        self.training: SharedTraining | None = None
        if settings.training == "shared":
            start = resumed_positions.get(TRAINING_POSITION, 0)
            training = self.training = SharedTraining(settings, self.pipeline, self.publisher, start)

            async def learn_shared() -> None:
                await training.run()

            self.app.task(learn_shared)
        self.processor: EventProcessor | None = None
        self.app.sensors.add(FlushBeforeCommit(self))
        self.app.on_partitions_revoked.connect(self._on_partitions_revoked)
        self.app.on_partitions_assigned.connect(self._on_partitions_assigned)
        self.app.timer(5.0, name="update_gauges")(self.update_gauges)
        self.app.timer(settings.sweep_interval_s, name="expire_idle_users")(self.expire_idle_users)
        self.app.on_before_shutdown.connect(self._on_before_shutdown)
        self.app.agent(self.inputs, name="score_events")(self.score_events)

        @self.app.page("/health")
        async def health(web: Any, request: Any) -> Any:
            return web.json(self.health())

        @self.app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            self.update_gauges_now()
            # aiohttp refuses a charset inside content_type; the full header goes in as is.
            return web.bytes(self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        @self.app.page("/models")
        async def models(web: Any, request: Any) -> Any:
            if not self.authorized(request):
                return web.json({"error": "missing or wrong bearer token"}, status=401)
            return web.json(self.describe_models())

        # Faust's table routing forwards the request (headers included) to the
        # worker that owns the user's partition; that worker answers from its own state.
        @self.app.page("/users/{user_id}")
        @self.app.table_route(table=self.users, match_info="user_id")
        async def user(web: Any, request: Any, user_id: str) -> Any:
            if not self.authorized(request):
                return web.json({"error": "missing or wrong bearer token"}, status=401)
            found = self.describe_user(user_id)
            if found is None:
                return web.json({"error": "unknown user", "user_id": user_id}, status=404)
            return web.json(found)

    def _lineage(self) -> str:
        """A fresh model's lineage: shared training rebuilds one model from one log, so it is named
        after the app; a local model is one of a kind."""
        settings = self.settings
        if settings.training == "shared":
            return f"{settings.model}-{hashlib.sha256(settings.app_id.encode()).hexdigest()[:8]}"
        return f"{settings.model}-{uuid.uuid4().hex[:8]}"

    @property
    def model(self) -> Any:
        return self.pipeline.model

    def authorized(self, request: Any) -> bool:
        """True when no token is configured, or the request carries it as a bearer token."""
        token = self.settings.api_token
        if not token:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    # -- model checkpoints ----------------------------------------------------

    def _publish_checkpoint(self, topic: str, key: bytes, value: bytes) -> None:
        self.publisher.produce(topic, key, value, partition=0)
        # One snapshot per produce request: the embedded broker reports a
        # partition's end as its last batch's first offset + 1.
        self.publisher.flush()

    def _on_snapshot_rejected(self, reason: str) -> None:
        self.metrics.checkpoints_rejected.inc()

    def _resume(self) -> dict[str, int]:
        """Continue from the newest authentic snapshot, if there is one; returns its positions."""
        if not self.checkpoints.enabled:
            log.warning("SCORER_MODEL_KEY is not set: the model is not checkpointed and a restart starts it afresh")
            return {}
        snapshot = self.checkpoints.load_latest()
        if snapshot is None:
            return {}
        self.pipeline.model = snapshot.model
        quality = snapshot.extra.get("quality")
        if quality is not None:
            self.pipeline.quality = QualityTracker.from_state(quality, window=self.settings.quality_window)
        self.resumed_from = {"model_version": snapshot.model.version, "created_ts": snapshot.created_ts, "positions": snapshot.positions}
        log.info("resumed model %s from its checkpoint", snapshot.model.version)
        return snapshot.positions

    def checkpoint_if_due(self, force: bool = False) -> None:
        if not self.checkpoints.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_checkpoint < self.settings.checkpoint_interval_s:
            return
        self._last_checkpoint = now
        processor = self.processor
        positions = {f"{topic}/{partition}": offset + 1 for (topic, partition), offset in processor.offsets.items()} if processor else {}
        if self.training is not None:
            positions[TRAINING_POSITION] = self.training.position
        snapshot = ModelSnapshot(
            model=self.pipeline.model,
            positions=positions,
            created_ts=int(time.time() * 1000),
            extra={"quality": self.pipeline.quality.to_state()},
        )
        started = time.perf_counter()
        size = self.checkpoints.save(snapshot, time.time())
        self.metrics.checkpoint_seconds.observe(time.perf_counter() - started)
        self.metrics.checkpoint_bytes.set(size)
        self.metrics.checkpoints.inc()

    def describe_models(self) -> dict[str, Any]:
        """The propensity model's state and live quality, for GET /models."""
        saved = self.checkpoints.last_saved_ts
        return {
            "propensity": self.model.status(),
            "quality": self.pipeline.quality.report(),
            "conversion_window_s": self.settings.conversion_window_s,
            "training": {
                "mode": self.settings.training,
                "position": self.training.position if self.training else None,
                "published": self.training.published if self.training else None,
            },
            "checkpoint": {
                "enabled": self.checkpoints.enabled,
                "topic": self.checkpoints.topic,
                "saved": self.checkpoints.saved,
                "age_s": time.time() - saved if saved is not None else None,
                "bytes": self.checkpoints.last_size,
                "resumed_from": self.resumed_from,
            },
        }

    def _ensure_processor(self) -> EventProcessor:
        if self.processor is None:
            changelog = self.users.changelog_topic.get_topic_name()
            self.store = PartitionedStore(self.users.data)
            cache = RecordCache(
                self.store,
                lambda partition, key, value: self.publisher.produce(changelog, key, value, partition),
                self.publisher.flush,
                on_record=self._on_record_flushed,
            )
            self.processor = EventProcessor(
                self.settings, self.pipeline, cache, self.publisher, self.metrics, make_recommender(self.settings)
            )
        return self.processor

    async def score_events(self, stream: faust.StreamT) -> None:
        processor = self._ensure_processor()
        process = processor.process
        poll = self.publisher.poll
        clock = time.time
        async for event in stream.events():
            message = event.message
            process(
                message.topic, message.partition, message.offset, message.key, message.value, clock(), message.timestamp
            )
            poll()

    async def _on_partitions_revoked(self, app: faust.App, revoked: Any, **kwargs: Any) -> None:
        if self.processor is not None:
            partitions = {tp.partition for tp in revoked}
            self.processor.cache.discard(partitions)
            self.processor.forget(partitions)
            for tp in revoked:
                # A lag series of a partition another worker now owns would freeze at its last value.
                try:
                    self.metrics.lag.remove(tp.topic, str(tp.partition))
                except KeyError:
                    pass

    async def _on_partitions_assigned(self, app: faust.App, assigned: Any, **kwargs: Any) -> None:
        self.metrics.rebalances.inc()

    def _on_record_flushed(self, size: int) -> None:
        self.metrics.flushed.inc()
        self.metrics.record_bytes.observe(size)

    async def expire_idle_users(self) -> None:
        """Delete users idle beyond the TTL (in event time), a chunk at a time between events."""
        processor = self.processor
        if processor is None:
            return
        engine = processor.engine
        owned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.settings.topic_clickstream}
        for partition in sorted(owned):
            deleted = 0
            for deleted in processor.cache.sweep(partition, lambda record, p=partition: engine.is_idle(record, p)):
                await asyncio.sleep(0)
            self.metrics.expired.inc(deleted)

    async def update_gauges(self) -> None:
        try:
            self.update_gauges_now()
        except Exception:  # noqa: BLE001 - a gauge must never stop the scoring
            log.exception("updating the gauges failed")

    def update_gauges_now(self) -> None:
        """Refresh the gauges that are read rather than counted: lag, users, label queue, learning."""
        metrics = self.metrics
        processor = self.processor
        if processor is None:
            return
        consumer = self.app.consumer
        inputs = set(self.settings.input_topics)
        for tp in consumer.assignment():
            if tp.topic not in inputs:
                continue
            try:
                end = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - no fetch yet for this partition
                continue
            if end is None:
                continue
            done = processor.offsets.get((tp.topic, tp.partition), -1) + 1
            metrics.lag.labels(topic=tp.topic, partition=str(tp.partition)).set(max(end - done, 0))
        metrics.users.set(self.store.count())
        metrics.state_bytes.set(self.store.size_bytes())
        metrics.update_model(self.model, self.pipeline.quality.report(), self.checkpoints.last_saved_ts, time.time())
        metrics.label_queue.set(len(processor.engine.expiries))
        positives, total = self.pipeline.learned_positive, self.pipeline.learned
        seen_positives, seen_total = self._learned_reported
        metrics.learned.labels(label="positive").inc(positives - seen_positives)
        metrics.learned.labels(label="negative").inc((total - positives) - (seen_total - seen_positives))
        self._learned_reported = (positives, total)
        failures = self.publisher.failures
        metrics.publish_failures.inc(max(failures - self._failures_reported, 0))
        self._failures_reported = failures
        live = processor.engine.next_item.result()
        for name in ("hr10", "hr20", "mrr10", "mrr20"):
            metrics.next_item.labels(metric=name).set(getattr(live, name))
        metrics.next_item_lists.set(live.count)

    async def _on_before_shutdown(self, app: faust.App, **kwargs: Any) -> None:
        if self.processor is not None:
            self.processor.cache.flush()
            self.checkpoint_if_due(force=True)
            log.info("stopping: %s", self.health())

    def describe_user(self, user_id: str) -> dict[str, Any] | None:
        if self.processor is None:
            return None
        key = user_id.encode()
        record = self.processor.cache.get(partition_for(key, self.settings.partitions), key)
        return record.describe(user_id) if record is not None else None

    def health(self) -> dict[str, Any]:
        processor = self.processor
        assignment = self.app.consumer.assignment()
        return {
                "status": "ok",
                "assigned_partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in assignment),
                "consumed": dict(processor.consumed) if processor else {},
                "scored": processor.scored if processor else 0,
                "replayed": processor.replayed if processor else 0,
                "rejected": dict(processor.rejected) if processor else {},
                "model": self.model.name,
                "model_version": self.model.version,
            }


def run_worker(settings: Settings) -> None:
    """Create missing topics, then run the Faust worker until it is stopped."""
    from streams.topics import create_topics

    create_topics(settings)
    limit_fetch_wait(settings.fetch_max_wait_ms)
    worker = Worker(settings)
    faust.Worker(worker.app, loglevel=settings.log_level, quiet=True).execute_from_commandline()
