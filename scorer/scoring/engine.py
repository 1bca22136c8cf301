"""The scoring engine: the pipeline applied to a partitioned store of user records.

Everything the worker does between decoding a message and publishing its
outputs lives here, so the Faust worker, the plain benchmark loop and the
offline evaluation share it line for line. Positions (Kafka offsets) and
partitions are plain integers to this code.

>>> from scorer.events import ClickEvent
>>> from scorer.propensity.model import PropensityModel
>>> from scorer.scoring.store import MemoryStore
>>> engine = ScoringEngine(ScoringPipeline(PropensityModel("logreg", "doc")), MemoryStore())
>>> click = ClickEvent("e1", "u1", 1_700_000_000_000, "page_view")
>>> engine.process(0, 3, 17, b"u1", click) is not None
True
>>> engine.process(0, 3, 17, b"u1", click) is None, engine.replayed
(True, 1)
>>> from scorer.events import ConsentEvent
>>> engine.apply_consent(2, 3, 0, b"u1", ConsentEvent("c1", "u1", 1_700_000_000_001, "opt_out"))
True
>>> engine.process(0, 3, 18, b"u1", ClickEvent("e2", "u1", 1_700_000_000_002, "page_view")) is None
True
>>> engine.apply_consent(2, 3, 1, b"u1", ConsentEvent("c2", "u1", 1_700_000_000_003, "erase"))
True
>>> engine.store.get(3, b"u1").is_marker  # only when the erasure happened is kept
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scorer.events import ClickEvent, ConsentEvent, PurchaseEvent, RecommendationList, Score
from scorer.propensity import ExpiryQueue, PendingExamples
from scorer.recommend import NextItemEvaluator, Recommender, WindowedNextItem
from scorer.scoring.pipeline import ScoringPipeline
from scorer.scoring.record import UserRecord
from scorer.scoring.store import RecordStore
from scorer.scoring.user_models import UserModel


#: Users whose last list is kept for the live next-item check; the oldest go first.
_MAX_LAST_LISTS = 100_000


@dataclass(frozen=True, slots=True)
class ListPolicy:
    """When a user gets a recommendation list, and how long it is.

    A list is built on every trigger event, at most one per user per
    ``min_interval_ms`` of event time, except on ``always`` types (a cart or a
    purchase changes what is worth showing at once).
    """

    triggers: frozenset[str] = frozenset({"product_view", "add_to_cart", "purchase"})
    always: frozenset[str] = frozenset({"add_to_cart", "purchase"})
    min_interval_ms: int = 5_000
    k: int = 10


#: How long an erasure marker outlives the erasure, in the partition's event time: events
#: of the user dated before the erasure are recognised (and change nothing) if they are read
#: within this time, late, redelivered after a crash or replayed. Longer than the lateness
#: bound and any redelivery; history replayed from further back must leave erased users out.
ERASURE_HORIZON_S = 30 * 86_400.0

# Live quality needs 20 candidates (HR@20) even when fewer are published.
_EVALUATED = 20


class ScoringEngine:
    """Fold events into user records, close label windows in event time, score clicks, build lists."""

    def __init__(
        self,
        pipeline: ScoringPipeline,
        store: RecordStore,
        recommender: Recommender | None = None,
        policy: ListPolicy = ListPolicy(),
        lineage: str = "reco",
        user_models: Sequence[UserModel] = (),
        erasure_horizon_s: float = ERASURE_HORIZON_S,
    ) -> None:
        self.pipeline = pipeline
        self.user_models = tuple(user_models)
        # Models that give a user quality dimensions (the RFM segment): the live quality is cut by them.
        self._dimensioned = tuple(model for model in self.user_models if hasattr(model, "dimensions"))
        # What the per-user models produced for the last event: (model name, output) pairs.
        self.outputs: list[tuple[str, Any]] = []
        self.store = store
        self.recommender = recommender
        self.policy = policy
        self.lineage = lineage
        self.observed = 0
        self.replayed = 0
        self.suppressed = 0
        self.purchases = 0
        self.consent_applied = 0
        self.expired = 0
        # Events of erased users dated up to their erasure: nothing changed, nothing published.
        self.erased = 0
        # Pending examples found in records restored from the changelog, queued again for their windows.
        self.restored_pending = 0
        self.erasure_horizon_ms = int(erasure_horizon_s * 1000)
        # Per input source, the incarnation of its topic (from its Kafka topic id; 0: unknown).
        self.epochs: dict[int, int] = {}
        # Partitions whose restored records' pending examples are queued.
        self._queued_partitions: set[int] = set()
        self.recommendation: RecommendationList | None = None
        # Next-item quality of the lists: each user's last list is checked against their next view.
        self.next_item = WindowedNextItem()
        self.next_item_total: NextItemEvaluator | None = None
        # Offline runs switch lists off where nothing is counted: the recommender still
        # learns from every event, and only lists that are checked get built.
        self.lists_enabled = True
        # False when every partition's events teach the recommender elsewhere (the worker's
        # all-partitions feed): here the user's session moves on, the model is not taught twice.
        self.teaches_recommender = True
        self._last_lists: dict[bytes, list[str]] = {}
        # Users whose list is due at their last trigger event of the current batch.
        self._owed: set[bytes] = set()
        # Event time per partition: the latest event seen. Label windows close by it.
        self._stream_time: dict[int, int] = {}
        self.expiries = ExpiryQueue()

    def process(
        self,
        source: int,
        partition: int,
        position: int,
        key: bytes,
        event: ClickEvent | PurchaseEvent,
        last_for_user: bool = True,
    ) -> Score | None:
        """Handle one event read at ``position`` of input ``source`` in ``partition``.

        Returns the click's score, or None (a purchase, a repeated event id, or
        an event the stored record already holds, counted in ``replayed``).
        A recommendation list built for the event is left in
        :attr:`recommendation` (None when there is none).
        Exceptions from feature or model code propagate to the caller.

        ``last_for_user=False`` says a later event of the same user follows in the
        same batch: a list the policy allows now is owed to the user and built at
        their last trigger of the batch instead (with everything the batch taught
        the model so far), since a list superseded within a batch is never read
        from a compacted topic.
        """
        self.recommendation = None
        # A new list every time: the caller may hold on to the previous event's outputs.
        self.outputs = []
        stored = self.store.get(partition, key)
        epoch = self.epochs.get(source, 0)
        if stored is not None and not stored.advance(source, position, epoch):
            # Already folded in before a restart or rebalance: state is flushed
            # before offsets are committed, so the tail after the last commit comes again.
            self.replayed += 1
            return None
        if stored is not None and stored.opted_out:
            self.suppressed += 1
            return None
        if stored is not None and event.ts <= stored.erased_at:
            self.erased += 1
            return None
        if partition not in self._queued_partitions:
            self._queue_restored(partition)
        duplicates = self.pipeline.duplicates
        dimensions = self._dimensions(stored) if self._dimensioned and stored is not None and isinstance(event, ClickEvent) else None
        record, score = self.pipeline.handle(stored, event, dimensions)
        if record is not stored:
            record.advance(source, position, epoch)
        fresh = self.pipeline.duplicates == duplicates
        if self.recommender is not None and fresh:
            self._recommend(key, record, event, last_for_user)
        if fresh and self.user_models:
            self._observe_user_models(record, event)
        if fresh and isinstance(event, PurchaseEvent):
            self.purchases += 1
        clock = self._stream_time.get(partition, 0)
        record.touched = max(clock, event.ts)
        self.store.put(partition, key, record)
        if event.ts > clock:
            self._stream_time[partition] = event.ts
            self._expire_due(partition, event.ts)
        if score is not None and len(record.pending) == 1:
            self.expiries.push(partition, self.pipeline.next_due(record), key)  # type: ignore[arg-type]
        return score

    def _recommend(self, key: bytes, record: UserRecord, event: ClickEvent | PurchaseEvent, last_for_user: bool) -> None:
        recommender = self.recommender
        assert recommender is not None
        kind = "purchase" if isinstance(event, PurchaseEvent) else event.type
        if kind == "product_view" and event.item_id is not None:  # type: ignore[union-attr]
            last = self._last_lists.pop(key, None)
            if last is not None and not record.session.starts_new(event, recommender.gap_ms):
                self.next_item.add(last, event.item_id)  # type: ignore[union-attr]
                if self.next_item_total is not None:
                    self.next_item_total.add(last, event.item_id)  # type: ignore[union-attr]
        if self.teaches_recommender:
            recommender.observe(record.session, event)
        else:
            recommender.observe_session(record.session, event)
        self.observed += 1
        policy = self.policy
        if kind not in policy.triggers or not self.lists_enabled:
            return
        allowed = kind in policy.always or not record.last_list_ts or event.ts - record.last_list_ts >= policy.min_interval_ms
        if allowed:
            record.last_list_ts = event.ts
        if not last_for_user:
            if allowed:
                self._owed.add(key)
            return
        if not allowed and key not in self._owed:
            return
        self._owed.discard(key)
        built = recommender.recommend_with_strategy(record.session, event, max(policy.k, _EVALUATED))
        self._last_lists[key] = [item for item, _ in built.items]
        if len(self._last_lists) > _MAX_LAST_LISTS:
            del self._last_lists[next(iter(self._last_lists))]
        self.recommendation = RecommendationList(
            event.user_id, built.items[: policy.k], built.strategy, f"{self.lineage}.{self.observed}", event.event_id, event.ts
        )

    def _dimensions(self, record: UserRecord) -> dict[str, str]:
        """The user's quality dimensions from the per-user models, as of before this event."""
        found: dict[str, str] = {}
        extras = record.extras
        for model in self._dimensioned:
            fields = extras.get(model.name)
            if fields is not None:
                found.update(model.dimensions(fields))  # type: ignore[attr-defined]
        return found

    def _observe_user_models(self, record: UserRecord, event: ClickEvent | PurchaseEvent) -> None:
        extras = record.extras
        for model in self.user_models:
            fields, output = model.observe(extras.get(model.name), event, record.state)
            extras[model.name] = fields
            if output is not None:
                self.outputs.append((model.name, output))

    def describe(self, record: UserRecord, user_id: str) -> dict:
        """The user as shown on ``GET /users/{id}``: the record's view plus each per-user model's."""
        view = record.describe(user_id)
        for model in self.user_models:
            fields = record.extras.get(model.name)
            if fields is not None:
                view[model.name] = model.describe(fields)
        return view

    def apply_consent(self, source: int, partition: int, position: int, key: bytes, event: ConsentEvent) -> bool:
        """Apply an opt-out, opt-in or erasure; False if the stored record already reflects it.

        ``opt_out`` drops the user's pending examples and freezes the record;
        ``opt_in`` lifts that; ``erase`` deletes the record (features, pending
        examples, dedupe memory, positions) from the store.
        """
        stored = self.store.get(partition, key)
        epoch = self.epochs.get(source, 0)
        if stored is not None and not stored.advance(source, position, epoch):
            self.replayed += 1
            return False
        self.consent_applied += 1
        if event.action == "erase":
            # A marker, not a deletion: events dated before the erasure that are read after it
            # (late, redelivered, replayed) must not bring the user back. It reaches the
            # changelog with the next flush, before the request's offset is committed.
            erased_at = max(event.ts, stored.erased_at if stored is not None else 0)
            touched = max(self._stream_time.get(partition, 0), event.ts)
            marker = UserRecord.erasure_marker(stored.positions if stored is not None else [], erased_at, touched)
            marker.epochs = list(stored.epochs) if stored is not None else []
            if stored is None:
                marker.advance(source, position, epoch)
            self.store.put(partition, key, marker)
            self._last_lists.pop(key, None)
            self._owed.discard(key)
            if self.recommender is not None:
                self.recommender.forget_user(event.user_id)
            for model in self.user_models:
                model.forget_user(event.user_id)
            return True
        record = stored if stored is not None else UserRecord()
        if stored is None:
            record.advance(source, position, epoch)
        record.opted_out = event.action == "opt_out"
        if record.opted_out:
            record.pending = PendingExamples()
            # An opted-out user has no segment or value; they are rebuilt from new events after an opt-in.
            record.extras = {}
        self.store.put(partition, key, record)
        return True

    def is_idle(self, record: UserRecord, partition: int) -> bool:
        """True for a user idle longer than the state TTL, in the partition's event time.

        Idle means: neither the user's own latest event nor the partition clock when their
        record last changed is within the TTL. A record that holds only an opt-out is never
        idle: consent is forgotten only by erasure. An erasure marker goes once the
        partition's clock is :data:`ERASURE_HORIZON_S` past the erasure.
        """
        now = self._stream_time.get(partition, 0)
        if not now:
            return False
        if record.is_marker:
            return now - max(record.erased_at, record.touched) > self.erasure_horizon_ms
        if record.state.ref_ts <= 0:
            return False
        last = max(record.state.ref_ts, record.touched)
        return now - last > self.pipeline.bounds.ttl_s * 1000

    def after_ttl(self, record: UserRecord) -> UserRecord | None:
        """What replaces an idle record: its opt-out alone if the user opted out, else nothing."""
        self.expired += 1
        return record.consent_only() if record.opted_out else None

    def is_late(self, partition: int, ts: int) -> bool:
        """True for an event behind its partition's clock by more than the lateness bound."""
        return ts < self._stream_time.get(partition, 0) - self.pipeline.bounds.lateness_s * 1000

    def _queue_restored(self, partition: int) -> None:
        """Queue the label windows of records this worker did not fold in itself.

        Records restored from the changelog (a restart, a rebalance) hold pending examples
        whose windows the in-memory expiry queue knows nothing of; without this they would
        wait until their user's next event. Runs once per partition, before its first event.
        """
        self._queued_partitions.add(partition)
        for key, record in self.store.items(partition):
            due = self.pipeline.next_due(record)
            if due is not None:
                self.expiries.push(partition, due, key)
                self.restored_pending += len(record.pending)

    def forget(self, partitions: set[int]) -> None:
        """Drop in-memory bookkeeping of partitions no longer owned."""
        self.expiries.forget(partitions)
        self._queued_partitions -= partitions
        for partition in partitions:
            self._stream_time.pop(partition, None)

    def _expire_due(self, partition: int, now_ts: int) -> None:
        """Resolve, as negatives, pending examples whose window has passed in this partition."""
        for key in self.expiries.pop_due(partition, now_ts):
            record = self.store.get(partition, key)
            if record is None:
                continue
            due = self.pipeline.expire(record, now_ts)
            self.store.put(partition, key, record)
            if due is not None:
                self.expiries.push(partition, due, key)
