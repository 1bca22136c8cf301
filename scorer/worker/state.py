"""Per-user records in a changelog-backed Faust table, with a write-back cache.

Writing a Faust table key on every event caps a worker near 3,700 events/s:
each write is a changelog send through Faust's producer. Like Kafka Streams'
record cache, :class:`RecordCache` keeps the records changed since the last
commit and writes each changed key once, to the table's local store and to
its changelog (through librdkafka), just before offsets are committed. A
crash loses nothing that was committed: uncommitted input is consumed again.

The table itself stays a plain Faust table, so Faust still creates its
changelog topic, restores the local store from it when a worker restarts or
takes over partitions, and keeps standbys.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from scorer.scoring import UserRecord

__all__ = ["PartitionedStore", "RecordCache"]


class PartitionedStore:
    """Read and write a Faust table's local store by partition, outside event context.

    Faust's stores pick the partition from the current event, which does not
    exist at commit time, so this reaches the per-partition storage directly.
    It depends on faust-streaming internals (pinned in pyproject.toml) and is
    covered by the restart test on a real broker.
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self._rocksdb = hasattr(store, "_db_for_partition")

    def get(self, partition: int, key: bytes) -> bytes | None:
        if self._rocksdb:
            return self._store._db_for_partition(partition).get(key)  # type: ignore[no-any-return]
        return self._store.data.get(key)  # type: ignore[no-any-return]

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """Every stored (key, record) of one partition."""
        if self._rocksdb:
            for key, value in self._store._db_for_partition(partition).items():
                # Faust keeps its own bookkeeping (the persisted offset) in the same database.
                if not key.startswith(b"__faust"):
                    yield key, value
        else:
            for key, owner in list(self._store._key_partition.items()):
                value = self._store.data.get(key)
                if owner == partition and value is not None:
                    yield key, value

    def count(self) -> int:
        """Keys held locally (RocksDB's estimate for the on-disk store)."""
        if self._rocksdb:
            return sum(db.property_int_value("rocksdb.estimate-num-keys") or 0 for db in self._store._dbs.values())
        return len(self._store.data)

    def size_bytes(self) -> int:
        """Bytes of state held locally: RocksDB's estimate of live data plus its memtables."""
        if self._rocksdb:
            return sum(
                (db.property_int_value("rocksdb.estimate-live-data-size") or 0)
                + (db.property_int_value("rocksdb.cur-size-all-mem-tables") or 0)
                for db in self._store._dbs.values()
            )
        return sum(len(value) for value in self._store.data.values())

    def delete(self, partition: int, key: bytes) -> None:
        if self._rocksdb:
            self._store._db_for_partition(partition).delete(key)
            self._store._key_index.pop(key, None)
        else:
            self._store.data.pop(key, None)
            self._store._key_partition.pop(key, None)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        if self._rocksdb:
            self._store._db_for_partition(partition).put(key, value)
            self._store._key_index[key] = partition
        else:
            self._store.data[key] = value
            self._store._key_partition[key] = partition


class RecordCache:
    """User records in memory: every record changed since the last flush, and the most recent others.

    Decoding a stored record costs more than everything else done for an
    event, so up to ``live_records`` decoded records stay in memory, evicted
    oldest first at flush time. A user always hashes to one partition, so the
    key alone identifies a record.
    """

    def __init__(
        self,
        store: PartitionedStore,
        write_changelog: Callable[[int, bytes, bytes | None], None],
        sync: Callable[[], None],
        on_record: Callable[[int], None] = lambda size: None,
        live_records: int = 100_000,
    ) -> None:
        self._store = store
        self._on_record = on_record
        self._write_changelog = write_changelog
        self._sync = sync
        self._live_records = live_records
        self._live: dict[bytes, tuple[int, UserRecord]] = {}
        self._dirty: dict[int, set[bytes]] = {}

    def get(self, partition: int, key: bytes) -> UserRecord | None:
        entry = self._live.get(key)
        if entry is not None:
            return entry[1]
        raw = self._store.get(partition, key)
        if raw is None:
            return None
        record = UserRecord.from_bytes(raw)
        self._live[key] = (partition, record)
        return record

    def put(self, partition: int, key: bytes, record: UserRecord) -> None:
        entry = self._live.get(key)
        if entry is None or entry[1] is not record:
            self._live[key] = (partition, record)
        dirty = self._dirty.get(partition)
        if dirty is None:
            dirty = self._dirty[partition] = set()
        dirty.add(key)

    @property
    def pending_keys(self) -> int:
        return sum(len(keys) for keys in self._dirty.values())

    def __len__(self) -> int:
        return len(self._live)

    def delete(self, partition: int, key: bytes) -> None:
        """Remove a record everywhere: memory, local store, and (by a tombstone) the changelog."""
        self._live.pop(key, None)
        dirty = self._dirty.get(partition)
        if dirty is not None:
            dirty.discard(key)
        self._store.delete(partition, key)
        self._write_changelog(partition, key, None)

    def items(self, partition: int) -> Iterator[tuple[bytes, UserRecord]]:
        """The partition's records: those in memory as they are, the others decoded without caching."""
        keys = dict.fromkeys(key for key, _ in self._store.items(partition))
        live = self._live
        for key, (owner, _) in list(live.items()):
            if owner == partition:
                keys.setdefault(key)
        for key in keys:
            entry = live.get(key)
            if entry is not None:
                yield key, entry[1]
                continue
            raw = self._store.get(partition, key)
            if raw is not None:
                yield key, UserRecord.from_bytes(raw)

    def sweep(
        self,
        partition: int,
        is_expired: Callable[[UserRecord], bool],
        replacement: Callable[[UserRecord], UserRecord | None] = lambda record: None,
        chunk: int = 1_000,
    ) -> Iterator[int]:
        """Delete (or replace) the partition's records ``is_expired`` selects, ``chunk`` keys at a time.

        ``replacement`` says what, if anything, stays of an expired record (an opt-out does).
        Yields the running count after each chunk so a caller on an event loop can
        let other work run. Each record is checked again just before it goes, so an
        event folded in between chunks keeps its user alive.
        """
        deleted = 0
        keys = (key for key, _ in self._store.items(partition))
        while True:
            batch = list(itertools.islice(keys, chunk))
            if not batch:
                return
            for key in batch:
                record = self.get(partition, key)
                if record is not None and is_expired(record):
                    kept = replacement(record)
                    if kept is None:
                        self.delete(partition, key)
                    else:
                        self.put(partition, key, kept)
                    deleted += 1
            yield deleted

    def discard(self, partitions: Iterable[int]) -> None:
        """Forget records of partitions this worker no longer owns (after flushing them)."""
        self.flush(partitions)
        gone = set(partitions)
        for key in [key for key, (partition, _) in self._live.items() if partition in gone]:
            del self._live[key]

    def flush(self, partitions: Iterable[int] | None = None) -> int:
        """Write changed records to store and changelog, wait for the broker; returns keys written.

        The last record of each partition goes out alone, after the others are
        acknowledged. The embedded broker (Tansu 0.6) reports a partition's high
        watermark as the base offset of its last record batch plus one, so a
        changelog ending in a multi-record batch would look shorter than it is
        and a restarting worker would stop restoring early. Ending each flush
        with single-record batches keeps the watermark right; on Kafka it costs
        one extra round trip per commit.
        """
        chosen = list(self._dirty) if partitions is None else [p for p in partitions if p in self._dirty]
        tails: list[tuple[int, bytes, bytes]] = []
        written = 0
        for partition in chosen:
            keys = self._dirty.pop(partition)
            written += len(keys)
            last = len(keys) - 1
            for index, key in enumerate(keys):
                value = self._live[key][1].to_bytes()
                self._on_record(len(value))
                self._store.put(partition, key, value)
                if index == last:
                    tails.append((partition, key, value))
                else:
                    self._write_changelog(partition, key, value)
        if tails:
            self._sync()
            for partition, key, value in tails:
                self._write_changelog(partition, key, value)
        # Offsets may be committed only once the changelog holds these records.
        self._sync()
        self._evict()
        return written

    def _evict(self) -> None:
        excess = len(self._live) - self._live_records
        if excess <= 0:
            return
        dirty = set().union(*self._dirty.values()) if self._dirty else set()
        # Oldest first: dicts keep insertion order.
        for key in [key for key in self._live if key not in dirty][:excess]:
            del self._live[key]
