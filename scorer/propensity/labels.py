"""Delayed conversion labels: scored clicks wait for a purchase or for the window to pass.

Every scored click leaves a pending example holding exactly the features its
score used. A purchase by the same user within the conversion window after
it makes it positive; without one it is negative. Either way it is learned
once, when its window has passed in event time.

Feature values are kept as float32, packed and base64-encoded, so a pending
example costs about 4/3 x 4 bytes per feature in the stored record; the
pipeline scores with the same float32 values it stores.

>>> pending = PendingExamples()
>>> pending.add(1_000, [1.0, 2.0], score=0.25)
>>> pending.add(2_000, [3.0, 4.0], score=0.5, segment="mobile|email")
>>> pending.convert(2_500, window_ms=1_000)
1
>>> pending.expire(2_500, window_ms=1_000)
[Resolved(values=[1.0, 2.0], label=False, score=0.25, delay_ms=1000, segment='')]
>>> pending.expire(3_001, window_ms=1_000)
[Resolved(values=[3.0, 4.0], label=True, score=0.5, delay_ms=500, segment='mobile|email')]
>>> len(pending)
0
"""

from __future__ import annotations

import base64
import heapq
from array import array
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import orjson


#: The default conversion window, in seconds: a purchase within it after a click makes the
#: click a positive. The one place this number is written; ``SCORER_CONVERSION_WINDOW_S``
#: overrides it.
CONVERSION_WINDOW_S = 1_800.0

#: Most scored clicks one pending example may stand for (see :meth:`PendingExamples.add`):
#: an example learned more often than this would swing an SGD model by itself.
MAX_WEIGHT = 8


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


class Resolved(NamedTuple):
    """A scored click whose label is known: what was scored, what it said, what happened.

    It travels as JSON (never pickle) when workers share their examples:

    >>> example = Resolved([0.5, 2.0], True, 0.25, 60_000, "new||")
    >>> Resolved.from_bytes(example.to_bytes(), width=2) == example
    True
    >>> Resolved.from_bytes(b'["AAAAPw==", true, 0.2, 1, ""]', width=2)
    Traceback (most recent call last):
    ...
    ValueError: a training example needs 2 float32 values, got 1
    """

    values: list[float]
    label: bool
    #: The probability published when the click was scored.
    score: float
    #: Click to purchase for a positive; the whole window for a negative.
    delay_ms: int
    #: The click's segment, ``"new|mobile|email"`` (see ``pipeline.segment_of``).
    segment: str

    def to_bytes(self) -> bytes:
        return orjson.dumps([_pack(self.values), self.label, self.score, self.delay_ms, self.segment])

    @classmethod
    def from_bytes(cls, raw: bytes, width: int) -> Resolved:
        """Decode and check a shared example; ``width`` is the number of features."""
        try:
            packed, label, score, delay_ms, segment = orjson.loads(raw)
            values = _unpack(packed)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise ValueError(f"not a training example: {exc}") from None
        if len(values) != width:
            raise ValueError(f"a training example needs {width} float32 values, got {len(values)}")
        if not isinstance(label, bool) or not isinstance(segment, str) or not isinstance(delay_ms, int):
            raise ValueError("a training example has a label, a delay and a segment of the wrong type")
        if not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
            raise ValueError("a training example's score must be a probability")
        return cls(values, label, float(score), delay_ms, segment)


class PendingExamples:
    """A user's scored clicks awaiting their label, oldest first, bounded.

    Each item is ``[ts, packed float32 values, converted, score, segment, weight]``,
    where ``converted`` is 0, or the milliseconds from the click to the purchase
    that converted it (at least 1), and ``weight`` is how many scored clicks the
    example stands for (see :meth:`add`). A purchase marks
    the clicks in the window before it as converted; every example is learned
    once, when its window closes, with the label it has then. Learning
    positives at the purchase and negatives only when the window closes would
    feed the model purchases half an hour ahead of non-purchases, and it would
    over-predict whenever traffic grows; closing every window after the same
    delay keeps the learned label mix equal to the real one.
    """

    __slots__ = ("items", "dropped")

    def __init__(self, items: list[list] | None = None, dropped: int = 0) -> None:
        self.items: list[list] = items if items is not None else []
        for item in self.items:
            if len(item) < 5:  # stored before scores and segments were kept
                item[2:] = [item[2], 0.0, ""]
            if len(item) < 6:  # stored before examples had weights
                item.append(1)
        self.dropped = dropped

    def __len__(self) -> int:
        return len(self.items)

    def add(self, ts: int, values: list[float], limit: int = 16, score: float = 0.0, segment: str = "") -> None:
        """Remember a scored click, keeping at most ``limit`` examples.

        Beyond ``limit`` two neighbours in time whose labels cannot differ (both still
        unconverted, or both converted) become one: the later click stands for both with
        their summed weight, up to :data:`MAX_WEIGHT`, and is learned that many times.
        Clicks a few minutes apart share their label almost always (a purchase after the
        later one converts both), so the learned label mix stays the real one, where
        dropping the oldest lost busy sessions' clicks, and with them most positives.
        Only when no pair can merge is the oldest dropped, counted in ``dropped``.

        >>> pending = PendingExamples()
        >>> for t in (0, 10, 1_000, 1_010, 5_000):
        ...     pending.add(t, [float(t)], limit=3)
        >>> [(item[0], item[5]) for item in pending.items], pending.dropped
        ([(10, 2), (1010, 2), (5000, 1)], 0)
        """
        # Six decimals are plenty for quality metrics and keep the stored record short.
        self.items.append([ts, _pack(values), 0, round(score, 6), segment, 1])
        if len(self.items) > limit and not self._merge_closest():
            del self.items[0]
            self.dropped += 1

    def _merge_closest(self) -> bool:
        """Fold the closest mergeable pair into its later click; False when there is none."""
        items = self.items
        best, gap = -1, None
        for i in range(len(items) - 1):
            a, b = items[i], items[i + 1]
            if bool(a[2]) != bool(b[2]) or a[5] + b[5] > MAX_WEIGHT:
                continue
            if gap is None or b[0] - a[0] < gap:
                best, gap = i, b[0] - a[0]
        if best < 0:
            return False
        items[best + 1][5] += items[best][5]
        del items[best]
        return True

    def latest_values(self) -> list[float]:
        """The feature values of the newest pending example."""
        return _unpack(self.items[-1][1])

    def convert(self, purchase_ts: int, window_ms: int) -> int:
        """Mark the clicks within the window before a purchase at ``purchase_ts``; returns how many."""
        marked = 0
        for item in self.items:
            if 0 <= purchase_ts - item[0] <= window_ms and not item[2]:
                item[2] = max(purchase_ts - item[0], 1)
                marked += 1
        return marked

    def expire(self, now_ts: int, window_ms: int) -> list[Resolved]:
        """Examples whose window closed before ``now_ts``, with their labels, oldest first."""
        cut = 0
        while cut < len(self.items) and now_ts - self.items[cut][0] > window_ms:
            cut += 1
        if not cut:
            return []
        # A merged example is resolved once per click it stands for: learned, and counted in the
        # live quality, with the weight of the clicks it replaced.
        resolved = [
            Resolved(_unpack(item[1]), bool(item[2]), item[3], item[2] or window_ms, item[4])
            for item in self.items[:cut]
            for _ in range(item[5])
        ]
        del self.items[:cut]
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
