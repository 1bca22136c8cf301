"""Test doubles that implement the production interfaces."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Record:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    headers: dict[str, bytes] = field(default_factory=dict)


class MemoryPublisher:
    """Implements :class:`scorer.kafka.publisher.Publisher`'s interface in memory."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.flushes = 0
        # Acknowledged records: everything produced before the last flush.
        self.delivered = 0

    def produce(self, topic, key, value, partition=None, headers=None) -> None:  # noqa: ANN001
        self.records.append(Record(topic, key, value, partition, dict(headers or [])))

    def poll(self) -> None:
        pass

    def flush(self, timeout_s: float = 30.0) -> None:
        self.flushes += 1
        self.delivered = len(self.records)

    def on(self, topic: str) -> list[Record]:
        return [r for r in self.records if r.topic == topic]
