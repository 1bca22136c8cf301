"""The two places the worker adjusts Faust: how long a fetch may wait, and where an uncommitted partition starts.

How long the worker's Kafka consumer lets a broker hold a fetch with no data.

faust-streaming 0.15 creates its aiokafka consumer with ``fetch_max_wait_ms``
fixed at 1,500. Kafka answers a fetch as soon as any data is there, but the
embedded broker (Tansu 0.6) holds a fetch over several partitions for most of
that time (measured: about 720 ms from produce to consume on an 8-partition
topic, against 10 ms with a 50 ms wait), which would put that delay in front
of every score. The wait only bounds how long an idle fetch may hang, so a
short one costs a few idle requests a second and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

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
    """After a rebalance, put partitions the group never committed back at their first offset.

    Faust drops, unacked, every message fetched under an older group generation or
    while flow is stopped, expecting the seek to committed offsets that follows each
    assignment to fetch them again. aiokafka's ``seek_to_committed`` only seeks where
    a committed offset above 0 exists, so on a partition the group never committed
    the consumer stays where it was: a message fetched in that window (seen as the
    first click of a partition lost while three workers formed their group) is never
    delivered, and the offsets acked after it commit past it. The scorer resets to
    the earliest offset (``consumer_auto_offset_reset="earliest"``), so seeking such
    partitions to their beginning is what "no committed offset" already means.
    """

    inputs = frozenset(topics)

    async def perform_seek(self: Consumer) -> None:
        await _original_perform_seek(self)
        # Just refreshed from the group: no entry (or 0) means never committed. Only the
        # input topics: changelog partitions are positioned by table recovery.
        for tp in self.assignment():
            if tp.topic in inputs and not self._committed_offset.get(tp):
                await self.seek(tp, 0)

    Consumer.perform_seek = perform_seek  # type: ignore[method-assign]
