"""Session-kNN over recent sessions (V-SKNN, Ludewig and Jannach 2018), learned as clicks arrive.

The recent sessions, the one in progress included, are kept with their
distinct items, and an inverted index maps each item to the sessions that hold
it, most recently active last. To score the current session, the sessions
sharing its items are gathered from the index (the ``sample`` most recent per
item), each weighted by the summed context weights of the items it shares
(recent items of the current session weigh more), and by how recently it was
active when ``half_life_s`` is set. The ``k`` most similar vote for their items.

Memory is bounded: at most ``max_sessions`` sessions (the least recently
active go first), ``max_session_items`` distinct items per session, and
``sessions_per_item`` sessions per item in the index. Measured with
tracemalloc, a kept session costs about 300 bytes on the YooChoose sample (3
distinct items on average), 460 to 480 bytes on the synthetic catalogue of
``benchmarks/reco_latency.py`` and 490 on REES46, plus its key string (60 to
100 bytes); 50,000 sessions, the default bound, take about 25 MB.

>>> knn = SessionKNN(k=10)
>>> for key, session in [("s1", ["a", "b", "c"]), ("s2", ["a", "b"]), ("s3", ["x", "y"])]:
...     for item in session:
...         knn.learn(key, item, ts=0)
>>> votes = knn.scores([("a", 1.0)])
>>> sorted(votes.items())
[('a', 2.0), ('b', 2.0), ('c', 1.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from operator import itemgetter


class SessionKNN:
    """Recent sessions, an item -> sessions inverted index, and V-SKNN scoring."""

    __slots__ = (
        "max_sessions",
        "max_session_items",
        "sessions_per_item",
        "sample",
        "k",
        "half_life_ms",
        "now",
        "sessions",
        "index",
    )

    def __init__(
        self,
        k: int = 50,
        sample: int = 100,
        max_sessions: int = 50_000,
        max_session_items: int = 20,
        sessions_per_item: int = 200,
        half_life_s: float | None = None,
    ) -> None:
        self.k = k
        self.sample = sample
        self.max_sessions = max_sessions
        self.max_session_items = max_session_items
        self.sessions_per_item = sessions_per_item
        self.half_life_ms = half_life_s * 1000.0 if half_life_s else None
        self.now = 0
        # Both dicts are kept in order of last activity: a touched entry is moved to the end.
        self.sessions: dict[str, tuple[int, list[str]]] = {}  # key -> (last ts, distinct items)
        self.index: dict[str, dict[str, None]] = {}  # item -> keys of sessions holding it

    def __len__(self) -> int:
        return len(self.sessions)

    def learn(self, key: str, item: str, ts: int) -> None:
        """Add ``item``, seen at ``ts``, to the session ``key``."""
        self.now = max(self.now, ts)
        entry = self.sessions.pop(key, None)
        items = entry[1] if entry is not None else []
        last_ts = max(entry[0], ts) if entry is not None else ts
        if item in items:
            items.remove(item)
        items.append(item)  # most recent last, so the oldest is dropped first
        if len(items) > self.max_session_items:
            self._unindex(key, items.pop(0))
        self.sessions[key] = (last_ts, items)
        holders = self.index.get(item)
        if holders is None:
            holders = self.index[item] = {}
        holders.pop(key, None)
        holders[key] = None
        if len(holders) > self.sessions_per_item:
            del holders[next(iter(holders))]
        # Dict order is activity order, so the first session is the least recently active.
        while len(self.sessions) > self.max_sessions:
            gone = next(iter(self.sessions))
            for old in self.sessions.pop(gone)[1]:
                self._unindex(gone, old)

    def scores(self, context: Sequence[tuple[str, float]], exclude: str | None = None) -> dict[str, float]:
        """Votes of the ``k`` sessions most similar to ``context`` (distinct items with weights).

        ``exclude`` is the key of the session asking, which must not count as its own neighbour.
        """
        similarity: dict[str, float] = {}
        sample = self.sample
        for item, weight in context:
            holders = self.index.get(item)
            if not holders:
                continue
            # One more than the sample, in case the asking session is among them (it usually is, being
            # the latest to view its own last item).
            keys = list(islice(reversed(holders), sample + 1))
            if exclude in holders and exclude in keys:
                keys.remove(exclude)
            elif len(keys) > sample:
                del keys[sample:]
            if not similarity:
                similarity = dict.fromkeys(keys, weight)  # 0.0 + weight == weight: the same as the loop
                continue
            get = similarity.get
            for key in keys:
                similarity[key] = get(key, 0.0) + weight
        # sorted() is stable, so ties keep the order in which sessions were met, as nlargest would,
        # and in C it is several times faster than nlargest's loop for these sizes.
        ranked = sorted(similarity.items(), key=itemgetter(1), reverse=True)
        sessions = self.sessions
        k = self.k
        if len(ranked) > k and ranked[k - 1][1] == ranked[k][1]:
            # A tie across the cut: which of the tied sessions were met first depends on how
            # the partitions' events interleaved, so the most recently active win, and two
            # workers fed the same events pick the same neighbours.
            edge = ranked[k - 1][1]
            above = [pair for pair in ranked[:k] if pair[1] > edge]
            tied = sorted((pair for pair in ranked if pair[1] == edge), key=lambda pair: (sessions[pair[0]][0], pair[0]), reverse=True)
            neighbours = above + tied[: k - len(above)]
        else:
            neighbours = ranked[:k]
        votes: dict[str, float] = {}
        get = votes.get
        now, half_life_ms = self.now, self.half_life_ms
        for key, sim in neighbours:
            last_ts, items = sessions[key]
            if half_life_ms:
                sim *= 2.0 ** (-(now - last_ts) / half_life_ms)
            for item in items:
                votes[item] = get(item, 0.0) + sim
        return votes

    def forget(self, prefix: str) -> int:
        """Drop every session whose key starts with ``prefix`` (a user's, on erasure); returns how many."""
        gone = [key for key in self.sessions if key.startswith(prefix)]
        for key in gone:
            for item in self.sessions.pop(key)[1]:
                self._unindex(key, item)
        return len(gone)

    def _unindex(self, key: str, item: str) -> None:
        holders = self.index.get(item)
        if holders is not None:
            holders.pop(key, None)
            if not holders:
                del self.index[item]
