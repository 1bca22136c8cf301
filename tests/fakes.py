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
    """Implements :class:`streams.publisher.Publisher`'s interface in memory."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.flushes = 0

    def produce(self, topic, key, value, partition=None, headers=None) -> None:  # noqa: ANN001
        self.records.append(Record(topic, key, value, partition, dict(headers or [])))

    def poll(self) -> None:
        pass

    def flush(self, timeout_s: float = 30.0) -> None:
        self.flushes += 1

    def on(self, topic: str) -> list[Record]:
        return [r for r in self.records if r.topic == topic]


class DictStore:
    """A partitioned store over plain dicts, like :class:`streams.state.PartitionedStore`."""

    def __init__(self) -> None:
        self.data: dict[int, dict[bytes, bytes]] = {}

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self.data.get(partition, {}).get(key)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.data.setdefault(partition, {})[key] = value

    def delete(self, partition: int, key: bytes) -> None:
        self.data.get(partition, {}).pop(key, None)

    def items(self, partition: int):
        return iter(list(self.data.get(partition, {}).items()))
