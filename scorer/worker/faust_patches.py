"""The two places the worker adjusts Faust: how long a fetch may wait, and where a never-committed partition starts.

faust-streaming 0.15 creates its aiokafka consumer with ``fetch_max_wait_ms``
fixed at 1,500. Kafka answers a fetch as soon as any data is there, but the
embedded broker (Tansu 0.6) holds a fetch over several partitions for most of
that time (measured: about 720 ms from produce to consume on an 8-partition
topic, against 10 ms with a 50 ms wait), which would put that delay in front
of every score. The wait only bounds how long an idle fetch may hang, so a
short one costs a few idle requests a second and nothing else.

The second is in :func:`seek_uncommitted_to_beginning`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

log = logging.getLogger(__name__)

_original = AIOKafkaConsumerThread._create_worker_consumer


def limit_fetch_wait(max_wait_ms: int) -> None:
    """Make every Faust worker consumer created from now on wait at most ``max_wait_ms`` per fetch."""

    def create(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = _original(self, transport)
        # Read by aiokafka when the consumer starts and builds its fetcher.
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]


_original_perform_seek = Consumer.perform_seek


def seek_uncommitted_to_beginning(topics: Iterable[str]) -> None:
    """After a rebalance, put partitions the group never committed back at their first unprocessed offset.

    Faust drops, unacked, every message fetched under an older group generation or
    while flow is stopped, expecting the seek to committed offsets that follows each
    assignment to fetch them again. aiokafka's ``seek_to_committed`` only seeks where
    a committed offset above 0 exists, so on a partition the group never committed
    the consumer stays where it was: a message fetched in that window (seen as the
    first click of a partition lost while three workers formed their group) is never
    delivered, and the offsets acked after it commit past it. The scorer resets to
    the earliest offset (``consumer_auto_offset_reset="earliest"``), so such a
    partition is sought to the first offset this consumer has not acked since 0
    (0 when it acked nothing): the dropped message comes again, and what was already
    processed before the seek (the fetcher can run before it) is not read twice.

    Only where the fetcher would otherwise go on past that offset: a partition whose
    position is still to be reset (it starts at the earliest offset anyway) or stands
    at that offset is left alone, so an ordinary start or restart seeks nothing.
    """

    inputs = frozenset(topics)

    async def perform_seek(self: Consumer) -> None:
        await _original_perform_seek(self)
        # Just refreshed from the group: no entry (or 0) means never committed. Only the
        # input topics: changelog partitions are positioned by table recovery.
        for tp in self.assignment():
            if tp.topic in inputs and not self._committed_offset.get(tp):
                offset = first_unacked(self._acked.get(tp, ()), self._gap.get(tp))
                position = fetch_position(self, tp)
                if position is not None and position > offset:
                    log.info("%s was never committed: reading it again from %d (the fetcher was at %d)", tp, offset, position)
                    await self.seek(tp, offset)

    Consumer.perform_seek = perform_seek  # type: ignore[method-assign]


def fetch_position(consumer: Consumer, tp: Any) -> int | None:
    """The offset aiokafka fetches ``tp`` from next; None while it awaits a reset (or is unknown)."""
    try:
        subscription = consumer._thread._ensure_consumer()._subscription  # type: ignore[attr-defined]
        state = subscription.subscription.assignment.state_value(tp)
    except (AttributeError, AssertionError):
        return None
    if state is None or state.awaiting_reset or not state.has_valid_position:
        return None
    return int(state.position)


def first_unacked(acked: Iterable[int], gaps: Any = None) -> int:
    """The first offset from 0 that is neither acked nor in a gap (offsets with no message).

    >>> first_unacked([0, 1, 2, 5]), first_unacked([1, 2]), first_unacked([])
    (3, 0, 0)
    >>> from intervaltree import Interval  # Faust's gaps: offsets 2 and 3 hold no message
    >>> first_unacked([0, 1, 4, 6], [Interval(2, 4)])
    5
    """
    position = 0
    skipped = sorted((interval.begin, interval.end) for interval in gaps) if gaps else []
    for offset in sorted(set(acked)):
        while skipped and skipped[0][0] <= position:
            position = max(position, skipped.pop(0)[1])
        if offset < position:
            continue
        if offset != position:
            break
        position += 1
    return position
