"""Event time aligned across input topics: release a partition's inputs oldest first.

Clicks, purchases and consent requests arrive on separate topics, and Kafka orders
records only within one topic partition. A worker catching up on a backlog reads
whichever topic its fetches return first; if the click topic runs ahead, the partition's
event time passes the end of conversion windows before the purchases that close them
are read, and positives are learned as negatives. So, as Kafka Streams does for a task's
inputs, each partition keeps a small buffer per input and releases the buffered head with
the lowest event time, but only once every input either has a head buffered too or has
nothing left to read on the broker. An input that is behind (its broker end is past what
was fetched) but has nothing buffered holds the partition back for at most
``max_idle_ms`` of arrival time when its lag is not known yet; when the broker is known to
hold more of it, the partition waits for that fetch (as Kafka Streams does since KIP-695),
up to ``max_lag_wait_ms``. A slow fetch delays scoring by a bounded time and never stops it.

Live traffic, where every input is caught up, goes straight through; a backlog comes
out in the order ``scorer evaluate`` reads the same events from files, so the worker and
the offline evaluation learn the same labels whatever the arrival pattern (as long as
each topic partition holds its own events in event-time order, as producers and
``scorer replay`` write them).

Pure: the caller says which inputs are behind and what time it is (``now_ms``, arrival
time, used only for the idle bound).

>>> aligner = InputAligner(sources=2, max_idle_ms=500)
>>> caught_up = lambda source: False
>>> aligner.add(0, source=0, ts=30, item="click@30", now_ms=0)
>>> aligner.add(0, source=0, ts=40, item="click@40", now_ms=0)
>>> list(aligner.release(0, behind=lambda source: source == 1, now_ms=10))  # purchases not read yet
[]
>>> aligner.add(0, source=1, ts=35, item="purchase@35", now_ms=20)
>>> list(aligner.release(0, behind=caught_up, now_ms=20))
['click@30', 'purchase@35', 'click@40']
>>> aligner.add(1, source=0, ts=50, item="click@50", now_ms=100)
>>> unknown = lambda source: None  # nothing fetched from the other input yet
>>> list(aligner.release(1, behind=unknown, now_ms=300)), list(aligner.release(1, behind=unknown, now_ms=601))
([], ['click@50'])
>>> aligner.add(2, source=0, ts=60, item="click@60", now_ms=0)
>>> lagging = lambda source: True  # the broker holds purchases not fetched yet
>>> list(aligner.release(2, behind=lagging, now_ms=5_000)), list(aligner.release(2, behind=lagging, now_ms=30_000))
([], ['click@60'])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

__all__ = ["InputAligner"]

T = TypeVar("T")


class InputAligner(Generic[T]):
    """Per partition, one FIFO per input source; releases heads in event-time order."""

    def __init__(self, sources: int, max_idle_ms: int, max_lag_wait_ms: int = 30_000) -> None:
        self.sources = sources
        self.max_idle_ms = max_idle_ms
        self.max_lag_wait_ms = max(max_lag_wait_ms, max_idle_ms)
        # partition -> one deque per source of (event ts, arrival ms, item)
        self._queues: dict[int, list[deque[tuple[int, int, T]]]] = {}
        self.buffered = 0
        self.released_early = 0

    def add(self, partition: int, source: int, ts: int, item: T, now_ms: int) -> None:
        """Buffer ``item`` (event time ``ts``) read from ``source`` at arrival time ``now_ms``."""
        queues = self._queues.get(partition)
        if queues is None:
            queues = self._queues[partition] = [deque() for _ in range(self.sources)]
        queues[source].append((ts, now_ms, item))
        self.buffered += 1

    def release(self, partition: int, behind: Callable[[int], bool | None], now_ms: int) -> Iterator[T]:
        """Yield the partition's items that can go now, oldest event time first.

        ``behind(source)`` is True when that input is known to have records on the broker
        that were not fetched yet, None when that is not known yet (nothing fetched), False
        when it is caught up. An item goes when no empty input is behind; an input of
        unknown lag holds the others back for ``max_idle_ms``, one known to lag (a fetch
        will come) for up to ``max_lag_wait_ms`` (a safety bound against a fetch that never
        comes: a busy worker catching up on a backlog fetches the topics unevenly for seconds).
        """
        queues = self._queues.get(partition)
        if queues is None:
            return
        while True:
            best = -1
            waited_since = now_ms
            for source, queue in enumerate(queues):
                if queue:
                    head = queue[0]
                    if best < 0 or head[0] < queues[best][0][0]:
                        best = source
                    waited_since = min(waited_since, head[1])
            if best < 0:
                del self._queues[partition]
                return
            waited = now_ms - waited_since
            lags = [behind(source) for source, queue in enumerate(queues) if not queue]
            if waited < self.max_lag_wait_ms and (True in lags or (None in lags and waited < self.max_idle_ms)):
                return
            if True in lags or None in lags:
                # Released on a time bound while an input might still hold older events.
                self.released_early += 1
            self.buffered -= 1
            yield queues[best].popleft()[2]

    def partitions(self) -> list[int]:
        """Partitions holding buffered items."""
        return list(self._queues)

    def drain(self, partition: int) -> Iterator[T]:
        """Everything buffered for ``partition``, in event-time order, waiting for nothing."""
        return self.release(partition, lambda source: False, 0)

    def discard(self, partitions: Iterable[int]) -> list[T]:
        """Drop what is buffered for ``partitions`` (revoked: their new owner reads them again)."""
        dropped: list[T] = []
        for partition in partitions:
            for queue in self._queues.pop(partition, []):
                dropped += [item for _, _, item in queue]
        self.buffered -= len(dropped)
        return dropped
