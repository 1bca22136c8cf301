"""Every worker's recommender learns from every click: an all-partitions feed, and its snapshots.

User state stays partitioned: a worker folds only the events of the partitions it
owns into user records, features and propensity. The recommender is different: it
learns across users, so with ``SCORER_RECO_FEED=all`` each worker also reads every
partition of the input topics with a consumer of its own, outside the consumer group
(``assign()``, never ``subscribe()``), and feeds those events to a
:class:`~scorer.recommend.RecommenderReplica`, and to nothing else. Every worker
then holds the same model, and any worker can answer a list for any user.

Why replicated learning rather than item-level updates through a topic: the
recommender learns a click in a few microseconds, far less than decoding it costs, so
every worker decoding every click is the whole cost (measured in the README), and
there is no second log to keep consistent with the inputs. Item-level updates would
need a producer per owner, an update format per component, and would still leave the
session-kNN's sessions (which are per user) on their owners only.

Snapshots: the replica (co-occurrence, popularity, the recent sessions of kNN, the
live user sessions and the erasure markers) is sealed like the propensity model
(:func:`scorer.scoring.seal`, HMAC-SHA256 under ``SCORER_MODEL_KEY``) with the
next offset it has not read of every input partition, and published to the
compacted ``SCORER_TOPIC_RECOMMENDER`` under the app id. Only the worker that owns
clickstream partition 0 writes it (every worker holds the same model). A starting
worker resumes from the newest snapshot that verifies and reads on from its
positions until it reaches the ends it saw at start (catch-up), before it scores.
Without a key, or without a snapshot, the feed reads the inputs from their start
(their retention bounds that).

Erasure: the feed reads the consent topic too, so every worker forgets an erased
user's sessions, and the next snapshot, taken after it, holds none of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from scorer.events import ConsentEvent, InvalidEvent, decode_click, decode_consent, decode_purchase
from scorer.kafka import MAX_SNAPSHOT_BYTES, private_consumer, read_partition
from scorer.recommend import Recommendation, Recommender, RecommenderReplica
from scorer.scoring import ModelSnapshot, SnapshotRejected, finish_seal, seal, serialize, unseal
from scorer.settings import Settings

__all__ = ["RecommenderFeed", "start_feed"]

log = logging.getLogger(__name__)


class RecommenderFeed:
    """Reads every partition of the inputs into one replica; snapshots it and resumes from it."""

    def __init__(
        self,
        settings: Settings,
        replica: RecommenderReplica,
        produce: Callable[[str, bytes, bytes], None],
        consumer: Any = None,
    ) -> None:
        self.settings = settings
        self.replica = replica
        self.topic = settings.topic_recommender
        self.key = settings.app_id.encode()
        self._secret = settings.model_key.encode()
        self._produce = produce
        clickstream, purchases, consent = settings.input_topics
        self._decoders: dict[str, Callable[[bytes], Any]] = {clickstream: decode_click, purchases: decode_purchase, consent: decode_consent}
        # "topic/partition" -> next offset not yet fed: what a snapshot reflects.
        self.positions: dict[str, int] = {}
        self.invalid = 0
        self.saved = 0
        self.last_size = 0
        self.last_save_s: float | None = None
        # Of the last asynchronous save: how long it held the event loop (the pickling).
        self.last_stall_s: float | None = None
        self._saving = asyncio.Lock()
        self.resumed_from: dict[str, Any] | None = None
        self.caught_up: dict[str, float] | None = None
        self._last_save = time.monotonic()
        self._consumer = consumer if consumer is not None else private_consumer(
            settings, "recommender", **{"fetch.wait.max.ms": settings.fetch_max_wait_ms}
        )

    @property
    def snapshots_enabled(self) -> bool:
        return bool(self._secret)

    def _partitions(self) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for topic in self._decoders for p in range(self.settings.partitions)]

    def resume(self, timeout_s: float = 15.0) -> bool:
        """Take the newest authentic snapshot's replica and positions, if there is one."""
        if not self.snapshots_enabled:
            log.warning("SCORER_MODEL_KEY is not set: the recommender is not snapshotted and is rebuilt from the inputs")
            return False
        started = time.perf_counter()
        for raw in reversed(read_partition(self.settings, self.topic, 0, timeout_s, key=self.key)):
            try:
                snapshot = unseal(raw, self._secret)
            except SnapshotRejected as exc:
                log.error("recommender snapshot refused (%s); trying an older one", exc)
                continue
            if not isinstance(snapshot.model, RecommenderReplica):
                log.error("recommender snapshot holds a %s; trying an older one", type(snapshot.model).__name__)
                continue
            # Blend weights, list length and exclusions are today's settings; what was learned, and
            # the bounds its components were built with, come from the snapshot.
            snapshot.model.recommender.config = self.replica.recommender.config
            self.replica = snapshot.model
            self.positions = dict(snapshot.positions)
            self.resumed_from = {
                "created_ts": snapshot.created_ts,
                "bytes": len(raw),
                "sessions": len(self.replica),
                "load_s": round(time.perf_counter() - started, 3),
            }
            log.info("resumed the recommender from its snapshot (%s)", self.resumed_from)
            return True
        return False

    def start(self) -> None:
        """Assign every input partition from the position the replica reflects (the start without one)."""
        self._consumer.assign(
            [TopicPartition(tp.topic, tp.partition, self.positions.get(f"{tp.topic}/{tp.partition}", OFFSET_BEGINNING)) for tp in self._partitions()]
        )

    def feed_available(self, limit: int = 1_000) -> int:
        """Feed what the inputs hold beyond the current positions, up to ``limit`` messages; never blocks."""
        fed = 0
        replica, decoders, positions = self.replica, self._decoders, self.positions
        for message in self._consumer.consume(limit, timeout=0):
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("recommender feed: %s", message.error())
                continue
            topic = message.topic()
            positions[f"{topic}/{message.partition()}"] = message.offset() + 1
            value = message.value()
            if value is None:
                continue  # a consent tombstone
            try:
                event = decoders[topic](value)
            except InvalidEvent:
                self.invalid += 1  # the owner dead-letters it
                continue
            if isinstance(event, ConsentEvent):
                if event.action == "erase":
                    replica.erase(event.user_id, event.ts)
            else:
                replica.observe(event)
            fed += 1
        return fed

    def catch_up(self, timeout_s: float) -> dict[str, float]:
        """Read until every input partition's end as it is now, or ``timeout_s``; returns what it took."""
        started = time.perf_counter()
        ends: dict[str, tuple[TopicPartition, int]] = {}
        for tp in self._partitions():
            name = f"{tp.topic}/{tp.partition}"
            low, high = self._consumer.get_watermark_offsets(tp, timeout=10.0, cached=False)
            if high > max(low, self.positions.get(name, 0)):
                ends[name] = (tp, high)
        fed = 0
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            got = self.feed_available(5_000)
            fed += got
            for name in [name for name, (_, end) in ends.items() if self.positions.get(name, 0) >= end]:
                del ends[name]
            if not got and ends:
                # Compaction and transaction markers leave offsets no message has: ask the consumer.
                for tp in self._consumer.position([tp for tp, _ in ends.values()]):
                    name = f"{tp.topic}/{tp.partition}"
                    if name in ends and tp.offset >= ends[name][1]:
                        del ends[name]
                time.sleep(0.01)
        self.caught_up = {"events": fed, "seconds": round(time.perf_counter() - started, 3), "complete": not ends}
        log.info("recommender caught up: %s", self.caught_up)
        return self.caught_up

    def recommend(self, user_id: str, k: int) -> Recommendation:
        return self.replica.recommend(user_id, k)

    def _snapshot(self, now_s: float) -> ModelSnapshot:
        return ModelSnapshot(self.replica, dict(self.positions), created_ts=int(now_s * 1000), extra={"sessions": len(self.replica)})

    def _publish(self, sealed: bytes, started: float) -> int:
        if len(sealed) > MAX_SNAPSHOT_BYTES:
            log.error("recommender snapshot of %d bytes exceeds the topic's %d: not written", len(sealed), MAX_SNAPSHOT_BYTES)
            return 0
        self._produce(self.topic, self.key, sealed)
        self.saved += 1
        self.last_size = len(sealed)
        self.last_save_s = time.perf_counter() - started
        return len(sealed)

    def save(self, now_s: float) -> int:
        """Seal and publish a snapshot of the replica with its positions; returns its size (0: not written).

        All of it on the caller's thread: for a stop, or where nothing else waits.
        """
        if not self.snapshots_enabled:
            return 0
        started = time.perf_counter()
        return self._publish(seal(self._snapshot(now_s), self._secret), started)

    async def save_async(self, now_s: float) -> int:
        """:meth:`save`, with only the pickling on the event loop: compression and tag in a thread.

        The replica and the positions are read in one go, on the loop, by :func:`serialize`;
        nothing can feed or erase meanwhile (both run on the loop too), so the bytes hold
        one consistent model and the positions it reflects. From then on sealing reads only
        those bytes: :func:`finish_seal` runs in the default executor while the loop goes on
        scoring and feeding (zlib and HMAC release the GIL), and the produce is back on the
        loop. The bytes are identical to :meth:`save`'s.
        """
        if not self.snapshots_enabled:
            return 0
        started = time.perf_counter()
        payload = serialize(self._snapshot(now_s))
        self.last_stall_s = time.perf_counter() - started
        sealed = await asyncio.to_thread(finish_seal, payload, self._secret)
        return self._publish(sealed, started)

    def _due(self, writer: bool, force: bool) -> bool:
        now = time.monotonic()
        if not writer or (not force and now - self._last_save < self.settings.reco_snapshot_interval_s):
            return False
        self._last_save = now
        return True

    def save_if_due(self, writer: bool, force: bool = False) -> int:
        """Snapshot when this worker is the writer and the interval has passed (always with ``force``)."""
        return self.save(time.time()) if self._due(writer, force) else 0

    async def save_if_due_async(self, writer: bool) -> int:
        """:meth:`save_if_due` through :meth:`save_async`, for the timer; never two snapshots in flight.

        A tick that finds a snapshot still sealing skips it (the next interval takes one).
        """
        if self._saving.locked():
            return 0
        async with self._saving:
            if not self._due(writer, False):
                return 0
            return await self.save_async(time.time())

    async def save_at_stop(self, writer: bool) -> int:
        """The last snapshot, sealed on the loop: after the one in flight, if any, so it is produced last.

        The compacted topic keeps the newest message of the key: a snapshot still sealing
        in a thread must not land after this newer one.
        """
        async with self._saving:
            return self.save_if_due(writer, force=True)

    def status(self) -> dict[str, Any]:
        """The feed as ``GET /models`` shows it."""
        return {
            "feed": "all",
            "observed": self.replica.observed,
            "sessions": len(self.replica),
            "invalid": self.invalid,
            "positions": sum(self.positions.values()),
            "snapshot": {
                "enabled": self.snapshots_enabled,
                "topic": self.topic,
                "saved": self.saved,
                "bytes": self.last_size,
                "seconds": round(self.last_save_s, 3) if self.last_save_s is not None else None,
                "loop_seconds": round(self.last_stall_s, 3) if self.last_stall_s is not None else None,
                "resumed_from": self.resumed_from,
            },
            "caught_up": self.caught_up,
        }

    async def run(self, idle_s: float = 0.02) -> None:
        """Feed forever, yielding to the scoring agent between batches."""
        while True:
            fed = self.feed_available()
            await asyncio.sleep(0 if fed else idle_s)

    def close(self) -> None:
        self._consumer.close()



def start_feed(settings: Settings, recommender: Recommender, produce: Callable[[str, bytes, bytes], None]) -> RecommenderFeed:
    """A feed over a fresh replica of ``recommender``, resumed from its newest snapshot and caught up.

    The replica's recommender (the snapshot's, when one was resumed) is the one the worker
    must hand its engine: ``feed.replica.recommender``.
    """
    replica = RecommenderReplica(recommender, max_sessions=settings.reco_sessions)
    feed = RecommenderFeed(settings, replica, produce)
    feed.resume()
    feed.start()
    feed.catch_up(settings.reco_catchup_timeout_s)
    return feed
