"""Where user records live, by partition and key: the protocol, and the one in-memory store.

The engine reads and writes records through :class:`RecordStore`. In the worker that is
the record cache over a Faust table; offline runs, the plain benchmark loop and the tests
use :class:`MemoryStore`, which holds decoded records for the engine or serialized bytes
under the worker's record cache alike.

>>> store = MemoryStore()
>>> store.put(3, b"u1", "record")
>>> store.get(3, b"u1"), store.get(4, b"u1"), len(store)
('record', None, 1)
>>> store.delete(3, b"u1"); list(store.items(3))
[]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from scorer.scoring.record import UserRecord

__all__ = ["MemoryStore", "RecordStore"]

V = TypeVar("V")


class RecordStore(Protocol):
    """Where user records live, by partition and key."""

    def get(self, partition: int, key: bytes) -> UserRecord | None: ...

    def put(self, partition: int, key: bytes, record: UserRecord) -> None: ...

    def delete(self, partition: int, key: bytes) -> None: ...

    def items(self, partition: int) -> Iterator[tuple[bytes, UserRecord]]:
        """The partition's records, safe to iterate while the engine writes."""
        ...


class MemoryStore(Generic[V]):
    """Values in plain dicts, by partition: decoded records or their serialized bytes."""

    def __init__(self) -> None:
        self.data: dict[int, dict[bytes, V]] = {}

    def get(self, partition: int, key: bytes) -> V | None:
        return self.data.get(partition, {}).get(key)

    def put(self, partition: int, key: bytes, value: V) -> None:
        self.data.setdefault(partition, {})[key] = value

    def delete(self, partition: int, key: bytes) -> None:
        self.data.get(partition, {}).pop(key, None)

    def items(self, partition: int) -> Iterator[tuple[bytes, V]]:
        """A snapshot of one partition's entries, safe to iterate while deleting."""
        return iter(list(self.data.get(partition, {}).items()))

    def values(self) -> Iterator[V]:
        """Every value held, over all partitions."""
        for partition in self.data.values():
            yield from partition.values()

    def __len__(self) -> int:
        return sum(len(partition) for partition in self.data.values())
