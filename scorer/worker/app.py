"""The Faust app: input topics, the user table, the scoring agent and the web views.

:func:`create_app` builds everything from a :class:`Settings`; nothing is
configured at import time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import faust
from faust.types import TP, ConsumerT

from scorer.kafka import Publisher, faust_credentials, topic_epochs
from scorer.scoring import InputAligner
from scorer.settings import Settings
from scorer.worker.checkpoints import Checkpoints, ModelCheckpointer
from scorer.worker.faust_patches import commit_below_unacked, limit_fetch_wait, seek_uncommitted_to_beginning
from scorer.worker.processor import EventProcessor
from scorer.worker.recommender_feed import RecommenderFeed, start_feed
from scorer.worker.prometheus import CONTENT_TYPE_LATEST, GaugeRefresher, ScorerMetrics
from scorer.worker.state import PartitionedStore, RecordCache
from scorer.worker.training import POSITION_KEY as TRAINING_POSITION
from scorer.worker.training import SharedTraining
from scorer.worker.web import add_views, health
from scorer.worker.wiring import make_pipeline, make_recommender, make_user_models, user_model

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
            self._holder.checkpointer.save_if_due()
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
            # Events held by the aligner are unacked on purpose; a rebalance must not wait for them.
            stream_wait_empty=False,
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
        self.metrics = ScorerMetrics(settings)
        self.gauges = GaugeRefresher(self.metrics)
        self.pipeline = make_pipeline(settings, lineage=self._lineage())
        # Built here, not with the processor: the checkpoint restores their global state and shared training feeds it.
        self.user_models = make_user_models(settings, self._lineage())
        self.processor: EventProcessor | None = None
        self.training: SharedTraining | None = None
        checkpoints = Checkpoints(settings, self._publish_checkpoint, on_rejected=lambda reason: self.metrics.checkpoints_rejected.inc())
        self.checkpointer = ModelCheckpointer(settings, self.pipeline, checkpoints, self.metrics, self._positions, self.user_models)
        resumed_positions = self.checkpointer.resume()
        if settings.training == "shared":
            start = resumed_positions.get(TRAINING_POSITION, 0)
            clv, segments = user_model(self.user_models, "clv"), user_model(self.user_models, "segments")
            training = self.training = SharedTraining(settings, self.pipeline, self.publisher, start, clv=clv, segments=segments)

            async def learn_shared() -> None:
                await training.run()

            self.app.task(learn_shared)
        # The recommender: one model across workers, fed every partition (SCORER_RECO_FEED=all).
        self.recommender = make_recommender(settings)
        self.recommender_feed: RecommenderFeed | None = None
        if settings.reco_feed == "all":
            feed = self.recommender_feed = start_feed(settings, self.recommender, self._publish_checkpoint)
            self.recommender = feed.replica.recommender

            async def feed_recommender() -> None:
                await feed.run()

            self.app.task(feed_recommender)
            self.app.timer(settings.reco_snapshot_interval_s, name="snapshot_recommender")(self.snapshot_recommender)
        self.app.sensors.add(FlushBeforeCommit(self))
        self.app.on_partitions_revoked.connect(self._on_partitions_revoked)
        self.app.on_partitions_assigned.connect(self._on_partitions_assigned)
        self.app.timer(5.0, name="update_gauges")(self.update_gauges)
        self.app.timer(settings.sweep_interval_s, name="expire_idle_users")(self.expire_idle_users)
        self.app.on_before_shutdown.connect(self._on_before_shutdown)
        self.aligner: InputAligner[Any] = InputAligner(len(settings.input_topics), settings.align_max_idle_ms)
        self._source_of = {topic: index for index, topic in enumerate(settings.input_topics)}
        self._fetched: dict[tuple[str, int], int] = {}
        self.app.timer(0.05, name="release_idle")(self.release_idle)
        self.app.agent(self.inputs, name="score_events")(self.score_events)
        # Next-best offer: the catalogue and the feedback, read beside the aligned inputs (scorer/worker/offers.py).
        self.offers: Any = None
        self.app.task(self.read_offer_inputs)
        add_views(self.app, self.users, self, self._exposition)

    def _lineage(self) -> str:
        """A fresh model's lineage: shared training rebuilds one model from one log, so it is named
        after the app; a local model is one of a kind."""
        settings = self.settings
        if settings.training == "shared":
            return f"{settings.model}-{hashlib.sha256(settings.app_id.encode()).hexdigest()[:8]}"
        return f"{settings.model}-{uuid.uuid4().hex[:8]}"

    def assignment(self) -> Any:
        return self.app.consumer.assignment()

    def _exposition(self) -> tuple[bytes, str]:
        self.update_gauges_now()
        return self.metrics.exposition(), CONTENT_TYPE_LATEST

    def _publish_checkpoint(self, topic: str, key: bytes, value: bytes) -> None:
        self.publisher.produce(topic, key, value, partition=0)
        # One snapshot per produce request: the embedded broker reports a
        # partition's end as its last batch's first offset + 1.
        self.publisher.flush()

    def _positions(self) -> dict[str, int]:
        """The inputs the model reflects: the next offset of each partition handled, and of shared training."""
        processor = self.processor
        positions = {f"{topic}/{partition}": offset + 1 for (topic, partition), offset in processor.offsets.items()} if processor else {}
        if self.training is not None:
            positions[TRAINING_POSITION] = self.training.position
        return positions

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
                self.settings, self.pipeline, cache, self.publisher, self.metrics, self.recommender,
                user_models=self.user_models,
            )
            # The feed teaches the shared recommender every partition's events; pushing lists is optional.
            self.processor.engine.teaches_recommender = self.recommender_feed is None
            self.processor.engine.lists_enabled = self.settings.reco_push
            self.processor.buffered = lambda: self.aligner.buffered
            self.processor.engine.epochs = topic_epochs(self.settings, self.settings.input_topics)
        return self.processor

    def _writes_recommender(self) -> bool:
        """Every worker holds the same recommender: the owner of clickstream partition 0 snapshots it."""
        return any(tp.topic == self.settings.topic_clickstream and tp.partition == 0 for tp in self.app.consumer.assignment())

    async def snapshot_recommender(self) -> None:
        if self.recommender_feed is not None:
            await self.recommender_feed.save_if_due_async(self._writes_recommender())

    async def score_events(self, stream: faust.StreamT) -> None:
        """Accept each message, let the aligner order a partition's inputs in event time, apply, ack.

        Acks are manual: a message is acked only once applied (or dead-lettered), so offsets
        are never committed past an event still waiting in the aligner, and a crash
        redelivers it. The state flush before each commit covers exactly what was applied.
        What one release lets go (a backlog lets go many at a time) is applied as one batch.
        """
        processor = self._ensure_processor()
        accept = processor.accept
        aligner = self.aligner
        poll = self.publisher.poll
        clock = time.time
        sources = self._source_of
        async for event in stream.noack().events():
            message = event.message
            now = clock()
            accepted = accept(message.topic, message.partition, message.offset, message.key, message.value, now, message.timestamp)
            self._fetched[(message.topic, message.partition)] = message.offset
            if accepted is None:
                event.ack()
            else:
                aligner.add(message.partition, sources[message.topic], accepted.event.ts, (accepted, event), int(now * 1000))
                self._apply(aligner.release(message.partition, self._behind(message.partition), int(now * 1000)))
            poll()

    def _apply(self, released: Any) -> None:
        """Apply released (accepted, Faust event) pairs as one batch, then ack their messages."""
        batch = list(released)
        if not batch:
            return
        assert self.processor is not None
        batch_max = self.settings.batch_max
        for start in range(0, len(batch), batch_max):
            chunk = batch[start : start + batch_max]
            self.processor.apply_batch([accepted for accepted, _ in chunk])
            for _, faust_event in chunk:
                faust_event.ack()

    def _behind(self, partition: int) -> Any:
        """Whether an input of ``partition`` has records on the broker beyond what was fetched."""
        consumer = self.app.consumer
        topics = self.settings.input_topics

        # Where each input starts after an assignment: its committed offset (Faust internals,
        # pinned). Without it, a restarted worker would take an input with nothing new since
        # the last commit for one that lags, and hold its partition for the whole lag bound.
        committed = getattr(consumer, "_committed_offset", {})

        def behind(source: int) -> bool | None:
            topic = topics[source]
            tp = TP(topic, partition)
            try:
                end = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - nothing fetched for it yet
                end = None
            if end is None:
                # Nothing fetched yet: its lag is unknown (waited for up to the idle bound).
                return None
            start = committed.get(tp) or 0
            return max(self._fetched.get((topic, partition), -1) + 1, start) < end

        return behind

    async def read_offer_inputs(self) -> None:
        from scorer.worker.offers import run_offer_inputs

        await run_offer_inputs(self)

    async def release_idle(self) -> None:
        """Let partitions whose missing input stayed silent past the idle bound go on."""
        processor = self.processor
        if processor is None:
            return
        now_ms = int(time.time() * 1000)
        for partition in self.aligner.partitions():
            self._apply(self.aligner.release(partition, self._behind(partition), now_ms))
        self.metrics.aligned_buffered.set(self.aligner.buffered)

    async def _on_partitions_revoked(self, app: faust.App, revoked: Any, **kwargs: Any) -> None:
        if self.processor is not None:
            partitions = {tp.partition for tp in revoked}
            # Never applied nor acked: the partitions' next owner reads them again.
            self.aligner.discard(partitions)
            for tp in revoked:
                self._fetched.pop((tp.topic, tp.partition), None)
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
            for deleted in processor.cache.sweep(partition, lambda record, p=partition: engine.is_idle(record, p), engine.after_ttl):
                await asyncio.sleep(0)
            self.metrics.expired.inc(deleted)

    async def update_gauges(self) -> None:
        try:
            self.update_gauges_now()
        except Exception:  # noqa: BLE001 - a gauge must never stop the scoring
            log.exception("updating the gauges failed")

    def update_gauges_now(self) -> None:
        """Refresh the gauges that are read rather than counted."""
        processor = self.processor
        if processor is None:
            return
        consumer = self.app.consumer
        inputs = set(self.settings.input_topics)
        ends = []
        for tp in consumer.assignment():
            if tp.topic not in inputs:
                continue
            try:
                end = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - no fetch yet for this partition
                continue
            if end is not None:
                ends.append((tp.topic, tp.partition, end))
        last_saved = self.checkpointer.checkpoints.last_saved_ts
        self.gauges.refresh(processor, self.store, ends, self.publisher.failures, last_saved, time.time())

    async def _on_before_shutdown(self, app: faust.App, **kwargs: Any) -> None:
        if self.processor is not None:
            self.processor.cache.flush()
            self.checkpointer.save_if_due(force=True)
            if self.recommender_feed is not None:
                await self.recommender_feed.save_at_stop(self._writes_recommender())
            log.info("stopping: %s", health(self))


def run_worker(settings: Settings) -> None:
    """Create missing topics, then run the Faust worker until it is stopped."""
    from scorer.kafka import create_topics

    # --- start-up checks: fail in one line naming the setting (scorer/worker/preflight.py) ---
    from scorer.kafka import topic_id
    from scorer.worker import preflight

    preflight.claim_web_port(settings)
    data_dir_lock = preflight.claim_data_dir(settings)  # noqa: F841 - held open for the process's life
    changelog = preflight.changelog_topic(settings, USER_TABLE)
    preflight.check_state_has_changelog(settings, USER_TABLE, topic_id(settings, changelog))
    preflight.remember_changelog_id(settings, USER_TABLE, lambda: topic_id(settings, changelog))
    # --- end of start-up checks ---
    create_topics(settings)
    limit_fetch_wait(settings.fetch_max_wait_ms)
    seek_uncommitted_to_beginning(settings.input_topics)
    commit_below_unacked()
    worker = Worker(settings)
    faust.Worker(worker.app, loglevel=settings.log_level, quiet=True).execute_from_commandline()
