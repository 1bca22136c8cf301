"""The three places the worker adjusts Faust: how long a fetch may wait, where a never-committed partition starts, and how far a commit may go.

faust-streaming 0.15 creates its aiokafka consumer with ``fetch_max_wait_ms``
fixed at 1,500. Kafka answers a fetch as soon as any data is there, but the
embedded broker (Tansu 0.6) holds a fetch over several partitions for most of
that time (measured: about 720 ms from produce to consume on an 8-partition
topic, against 10 ms with a 50 ms wait), which would put that delay in front
of every score. The wait only bounds how long an idle fetch may hang, so a
short one costs a few idle requests a second and nothing else.

The second is in :func:`seek_uncommitted_to_beginning`, the third in
:func:`commit_below_unacked`.
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


_original_filter = Consumer._filter_committable_offsets


def commit_below_unacked() -> None:
    """Never commit an offset past a message that was delivered and is not acked yet.

    Faust commits the first run of consecutive acked offsets, and holds the commit back
    when the run does not start at the committed offset, but only when it starts two or
    more past it (``min(acked) - committed > 1`` in ``Consumer._new_offset``), while the
    committed offset is the next one to read. So when the message at the committed
    offset is still being processed and the one after it is acked, the commit goes past
    it. The scorer acks out of offset order on purpose: a message the processor answers
    at once (a replay, a duplicate, a dead letter) is acked while an earlier click of the
    same partition waits in the aligner. When the partition then changes owner (or the
    worker is killed), the aligner's unacked message is dropped and the next owner starts
    after it: one event never scored (seen as one click of 400 lost after a restart, and
    one lost by a survivor in the three-worker kill test).

    Here a partition whose lowest delivered, unacked message lies below every acked
    offset commits nothing until that message is acked. Offsets with no message at all
    (transaction markers, compacted records) are never delivered, so they hold nothing.
    """

    def filter_committable(self: Consumer, tps: Iterable[Any]) -> dict[Any, int]:
        tps = list(tps)
        floors = pending_floors(self._unacked_messages, self._committed_offset)
        held = {tp for tp in tps if holds_commit(self._acked.get(tp), floors.get(tp))}
        if held:
            log.debug("commit held back for %s: a delivered message below the acked ones is not acked yet", sorted(map(str, held)))
        return _original_filter(self, [tp for tp in tps if tp not in held])

    Consumer._filter_committable_offsets = filter_committable  # type: ignore[method-assign]


def pending_floors(messages: Iterable[Any], committed: Any) -> dict[Any, int]:
    """Per topic partition, the lowest offset of a delivered message not acked yet, at or past the committed offset.

    Below the committed offset a message no longer counts: Faust ignores its ack, so it
    could hold a partition's commits forever.

    >>> from types import SimpleNamespace as M
    >>> pending_floors([M(tp="a", offset=7, acked=False), M(tp="a", offset=5, acked=False),
    ...                 M(tp="a", offset=4, acked=True), M(tp="b", offset=2, acked=False)], {"a": 3, "b": 3})
    {'a': 5}
    """
    floors: dict[Any, int] = {}
    for message in list(messages):
        if message.acked:
            continue
        tp, offset = message.tp, message.offset
        start = committed.get(tp)
        if start is not None and offset < start:
            continue
        if offset < floors.get(tp, offset + 1):
            floors[tp] = offset
    return floors


def holds_commit(acked: Any, floor: int | None) -> bool:
    """Whether a partition's commit must wait: an unacked message lies below every acked offset.

    >>> holds_commit([5, 6, 7], 4), holds_commit([5, 6, 7], 9), holds_commit([], 4), holds_commit([5], None)
    (True, False, False, False)
    """
    return bool(acked) and floor is not None and floor < min(acked)
