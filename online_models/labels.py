"""Delayed conversion labels: scored clicks wait for a purchase or for the window to pass.

Every scored click leaves a pending example holding exactly the features its
score used. A purchase by the same user within the conversion window after
it makes it positive; once the window has passed in event time without one,
it is negative. Each example resolves exactly once.

Feature values are kept as float32, packed and base64-encoded, so a pending
example costs about 4/3 x 4 bytes per feature in the stored record; the
pipeline scores with the same float32 values it stores.

>>> pending = PendingExamples()
>>> pending.add(1_000, [1.0, 2.0])
>>> pending.add(2_000, [3.0, 4.0])
>>> pending.expire(2_500, window_ms=1_000)
[([1.0, 2.0], False)]
>>> pending.resolve_purchase(2_500, window_ms=1_000)
[([3.0, 4.0], True)]
>>> len(pending)
0
"""

from __future__ import annotations

import heapq
import base64
from array import array
from collections.abc import Iterable, Iterator


def as_float32(values: Iterable[float]) -> list[float]:
    """The values rounded to float32, the precision pending examples are stored in.

    >>> as_float32([0.1])
    [0.10000000149011612]
    """
    return array("f", values).tolist()


def _pack(values: list[float]) -> str:
    return base64.b64encode(array("f", values).tobytes()).decode("ascii")


def _unpack(packed: str) -> list[float]:
    values = array("f")
    values.frombytes(base64.b64decode(packed))
    return values.tolist()


class PendingExamples:
    """A user's scored clicks awaiting their label, oldest first, bounded."""

    __slots__ = ("items", "dropped")

    def __init__(self, items: list[list] | None = None, dropped: int = 0) -> None:
        self.items: list[list] = items if items is not None else []  # [ts, packed float32 values]
        self.dropped = dropped

    def __len__(self) -> int:
        return len(self.items)

    def add(self, ts: int, values: list[float], limit: int = 32) -> None:
        """Remember a scored click. Beyond ``limit`` the oldest is dropped unlabelled."""
        self.items.append([ts, _pack(values)])
        if len(self.items) > limit:
            del self.items[0]
            self.dropped += 1

    def expire(self, now_ts: int, window_ms: int) -> list[tuple[list[float], bool]]:
        """Examples whose window closed before ``now_ts`` without a purchase: negatives."""
        cut = 0
        while cut < len(self.items) and now_ts - self.items[cut][0] > window_ms:
            cut += 1
        if not cut:
            return []
        resolved = [(_unpack(packed), False) for _, packed in self.items[:cut]]
        del self.items[:cut]
        return resolved

    def resolve_purchase(self, purchase_ts: int, window_ms: int) -> list[tuple[list[float], bool]]:
        """Label everything up to a purchase at ``purchase_ts``.

        Clicks within the window before it are positives, older ones negatives;
        clicks after it stay pending for a later purchase.
        """
        resolved: list[tuple[list[float], bool]] = []
        keep: list[list] = []
        for ts, packed in self.items:
            if ts > purchase_ts:
                keep.append([ts, packed])
            else:
                resolved.append((_unpack(packed), purchase_ts - ts <= window_ms))
        self.items = keep
        return resolved


class ExpiryQueue:
    """When each user's oldest pending example falls due, per partition, in event time.

    Without it a user who never comes back would hold their examples forever
    and the model would learn mostly from purchases, that is from positives.
    Entries may be stale (resolved by a purchase meanwhile); resolving a user
    with nothing due is a no-op.

    >>> queue = ExpiryQueue()
    >>> queue.push(0, due_ts=100, key=b"u1")
    >>> queue.push(0, due_ts=50, key=b"u2")
    >>> list(queue.pop_due(0, now_ts=120))
    [b'u2', b'u1']
    """

    __slots__ = ("_heaps",)

    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[int, bytes]]] = {}

    def __len__(self) -> int:
        return sum(len(heap) for heap in self._heaps.values())

    def push(self, partition: int, due_ts: int, key: bytes) -> None:
        heapq.heappush(self._heaps.setdefault(partition, []), (due_ts, key))

    def pop_due(self, partition: int, now_ts: int) -> Iterator[bytes]:
        heap = self._heaps.get(partition)
        while heap and heap[0][0] < now_ts:
            yield heapq.heappop(heap)[1]

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._heaps.pop(partition, None)
