"""The bounded sample of customers the population parameters are fitted on.

A bottom-k sample by hash of the user id: the ``capacity`` customers whose hash is
smallest. It is a uniform sample of all customers seen, needs no random state, is
the same whatever order the customers arrive in, and two workers' samples merge
into the sample of their union (keep the smallest hashes). A customer in the sample
is replaced by their newest summary at each of their purchases.

Members are kept by hash, not by id: a :class:`CustomerSummary` carries only the
hash, so summaries can travel through a shared log (``SCORER_TRAINING=shared``) and
sit in snapshots without naming anyone, and an erasure is carried by the hash too.

>>> sample = FitSample(capacity=2)
>>> for user in ["a", "b", "c", "d"]:
...     sample.offer(user, first=0, last=0, x=0, mean=0.0)
>>> len(sample), sorted(sample.hashes()) == sorted(user_hash(u) for u in "abcd")[:2]
(2, True)
>>> sample.forget_hash(sorted(sample.hashes())[0]); len(sample)
1
>>> FitSample.from_state(sample.to_state()).hashes() == sample.hashes()
True
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass

import orjson
import numpy as np

__all__ = ["CustomerSummary", "FitSample", "user_hash"]


def user_hash(user_id: str) -> int:
    """A 64-bit hash of the user id, independent of Kafka's partitioner (murmur2)."""
    return int.from_bytes(hashlib.blake2b(user_id.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """One customer's sufficient statistics after a purchase at event time ``ts`` (ms).

    ``first`` and ``last`` are purchase periods (days), ``x`` the repeat purchases,
    ``mean`` the mean repeat value. ``x == -1`` marks an erasure: the customer leaves
    the sample. JSON on the wire, never pickle.

    >>> s = CustomerSummary(7, 20_000, 20_030, 2, 15.0, 1_728_000_000_000)
    >>> CustomerSummary.from_bytes(s.to_bytes()) == s
    True
    >>> CustomerSummary.erasure(7, 5).erased
    True
    """

    user: int
    first: int
    last: int
    x: int
    mean: float
    ts: int

    @classmethod
    def erasure(cls, user: int, ts: int) -> CustomerSummary:
        return cls(user, 0, 0, -1, 0.0, ts)

    @property
    def erased(self) -> bool:
        return self.x < 0

    def to_bytes(self) -> bytes:
        return orjson.dumps([self.user, self.first, self.last, self.x, self.mean, self.ts])

    @classmethod
    def from_bytes(cls, raw: bytes) -> CustomerSummary:
        """Decode and check a shared summary; ValueError if it is not one."""
        try:
            user, first, last, x, mean, ts = orjson.loads(raw)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise ValueError(f"not a customer summary: {exc}") from None
        ints = (user, first, last, x, ts)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints) or not isinstance(mean, (int, float)):
            raise ValueError("a customer summary holds integers and a mean value")
        if not 0 <= user < 2**64 or x < -1 or last < first:
            raise ValueError("a customer summary's hash, repeats or periods are out of range")
        return cls(user, first, last, x, float(mean), ts)


class FitSample:
    """Up to ``capacity`` customers' summaries: first and last purchase period, repeats, mean repeat value."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._members: dict[int, tuple[int, int, int, float]] = {}
        # Max-heap of member hashes (negated); entries of forgotten customers are skipped lazily.
        self._heap: list[int] = []
        self.changed = False

    def __len__(self) -> int:
        return len(self._members)

    def hashes(self) -> list[int]:
        return list(self._members)

    def offer(self, user_id: str, first: int, last: int, x: int, mean: float) -> None:
        """Put the customer's current summary in the sample, if their hash earns a place."""
        self.offer_hash(user_hash(user_id), first, last, x, mean)

    def offer_hash(self, h: int, first: int, last: int, x: int, mean: float) -> None:
        members = self._members
        if h in members:
            members[h] = (first, last, x, mean)
            self.changed = True
            return
        if len(members) >= self.capacity:
            self._drop_stale()
            if -self._heap[0] <= h:
                return
            del members[-heapq.heappop(self._heap)]
        members[h] = (first, last, x, mean)
        heapq.heappush(self._heap, -h)
        self.changed = True

    def forget_hash(self, h: int) -> None:
        if self._members.pop(h, None) is not None:
            self.changed = True

    def arrays(self, now_period: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``x``, ``t_x``, ``T`` (weeks, at ``now_period``) and mean repeat value of every member."""
        if not self._members:
            empty = np.zeros(0)
            return empty, empty, empty, empty
        rows = np.array(list(self._members.values()), dtype=float)
        first, last, x, mean = rows.T
        return x, (last - first) / 7.0, (np.maximum(now_period, last) - first) / 7.0, mean

    def to_state(self) -> dict:
        """The sample as JSON-ready data, for model snapshots."""
        return {"capacity": self.capacity, "members": [[h, *member] for h, member in self._members.items()]}

    @classmethod
    def from_state(cls, state: dict) -> FitSample:
        sample = cls(int(state["capacity"]))
        for h, first, last, x, mean in state["members"]:
            sample._members[int(h)] = (int(first), int(last), int(x), float(mean))
        sample._heap = [-h for h in sample._members]
        heapq.heapify(sample._heap)
        return sample

    def _drop_stale(self) -> None:
        heap, members = self._heap, self._members
        while heap and -heap[0] not in members:
            heapq.heappop(heap)
