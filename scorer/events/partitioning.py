"""Kafka's default key partitioning (murmur2), as pure code.

Kafka's Java client, Kafka Streams and Faust's table router put a key on
partition ``(murmur2(key) & 0x7fffffff) % partitions``. The offline
evaluation uses it too, so that per-partition event time advances exactly as
in a worker.

>>> partition_for(b"u1", 8)
0
>>> partition_for(b"user-42", 8)
4
"""

from __future__ import annotations

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """32-bit MurmurHash2 with Kafka's seed, as a signed int like Java's."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner assigns ``key`` to."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
