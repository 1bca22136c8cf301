"""The bounded sample of customers the population parameters are fitted on.

A bottom-k sample by hash of the user id: the ``capacity`` customers whose hash is
smallest. It is a uniform sample of all customers seen, needs no random state, is
the same whatever order the customers arrive in, and two workers' samples merge
into the sample of their union (keep the smallest hashes). A customer in the sample
is replaced by their newest summary at each of their purchases.

>>> sample = FitSample(capacity=2)
>>> for user in ["a", "b", "c", "d"]:
...     sample.offer(user, first=0, last=0, x=0, mean=0.0)
>>> len(sample), sorted(sample.users()) == sorted(sorted(["a", "b", "c", "d"], key=user_hash)[:2])
(2, True)
>>> sample.forget(sorted(sample.users())[0]); len(sample)
1
"""

from __future__ import annotations

import hashlib
import heapq

import numpy as np

__all__ = ["FitSample", "user_hash"]


def user_hash(user_id: str) -> int:
    """A 64-bit hash of the user id, independent of Kafka's partitioner (murmur2)."""
    return int.from_bytes(hashlib.blake2b(user_id.encode(), digest_size=8).digest(), "big")


class FitSample:
    """Up to ``capacity`` customers' summaries: first and last purchase period, repeats, mean repeat value."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._members: dict[str, tuple[int, int, int, int, float]] = {}
        # Max-heap of members by hash (negated); entries of forgotten users are skipped lazily.
        self._heap: list[tuple[int, str]] = []
        self.changed = False

    def __len__(self) -> int:
        return len(self._members)

    def users(self) -> list[str]:
        return list(self._members)

    def offer(self, user_id: str, first: int, last: int, x: int, mean: float) -> None:
        """Put the customer's current summary in the sample, if their hash earns a place."""
        members = self._members
        known = members.get(user_id)
        if known is not None:
            members[user_id] = (known[0], first, last, x, mean)
            self.changed = True
            return
        h = user_hash(user_id)
        if len(members) >= self.capacity:
            self._drop_stale()
            if -self._heap[0][0] <= h:
                return
            _, evicted = heapq.heappop(self._heap)
            del members[evicted]
        members[user_id] = (h, first, last, x, mean)
        heapq.heappush(self._heap, (-h, user_id))
        self.changed = True

    def forget(self, user_id: str) -> None:
        if self._members.pop(user_id, None) is not None:
            self.changed = True

    def arrays(self, now_period: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``x``, ``t_x``, ``T`` (weeks, at ``now_period``) and mean repeat value of every member."""
        if not self._members:
            empty = np.zeros(0)
            return empty, empty, empty, empty
        rows = np.array([member[1:] for member in self._members.values()], dtype=float)
        first, last, x, mean = rows.T
        return x, (last - first) / 7.0, (np.maximum(now_period, last) - first) / 7.0, mean

    def _drop_stale(self) -> None:
        heap, members = self._heap, self._members
        while heap and members.get(heap[0][1], (None,))[0] != -heap[0][0]:
            heapq.heappop(heap)
