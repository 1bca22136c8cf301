"""One worker's copy of the one recommender: every user's events, whoever owns the user.

A worker owns a share of the users, but every worker's recommender should know
every session: co-occurrence and session-kNN learn across users, so a model fed
a 1/N share of the clicks ranks worse, and differently on each worker. A
:class:`RecommenderReplica` is fed every partition's events (by
:mod:`scorer.worker.recommender_feed`, outside the consumer group) and keeps the
recommender's per-user sessions itself, apart from the partitioned user records,
so that it can learn any user's next click and answer a list for any user.

Fed the same events, two replicas hold the same model: each user's events come
in their partition's order, and what the model learns does not depend on how
partitions interleave, except at its bounds (the least recently active session
or least used item goes first) and for ties.

Bounded: at most ``max_sessions`` sessions (the least recently active go first;
a session idle past the inactivity gap is over anyway, only its purchases were
still excluded from lists) and ``max_erased`` erasure markers.

>>> from scorer.events import ClickEvent
>>> from scorer.recommend import Recommender
>>> replica = RecommenderReplica(Recommender())
>>> for n, (user, item) in enumerate([("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"), ("u3", "a")]):
...     replica.observe(ClickEvent(f"e{n}", user, 1_000 * n, "product_view", item_id=item))
>>> [item for item, _ in replica.recommend("u3", k=2).items]
['a', 'b']
>>> replica.erase("u1", ts=6_000), "u1" in replica.sessions
(1, False)
>>> replica.observe(ClickEvent("late", "u1", 1_500, "product_view", item_id="c"))  # dated before the erasure
>>> "u1" in replica.sessions, replica.skipped_erased
(False, 1)
"""

from __future__ import annotations

from typing import Any

from scorer.events import ClickEvent, PurchaseEvent
from scorer.recommend.recommender import Recommendation, Recommender
from scorer.recommend.session import SessionItems

__all__ = ["RecommenderReplica"]


class RecommenderReplica:
    """A recommender and the sessions of every user it was fed, in order of last activity."""

    def __init__(self, recommender: Recommender, max_sessions: int = 1_000_000, max_erased: int = 100_000) -> None:
        self.recommender = recommender
        self.max_sessions = max_sessions
        self.max_erased = max_erased
        # user -> session, least recently active first: a touched session moves to the end.
        self.sessions: dict[str, SessionItems] = {}
        # user -> event time of their erasure: their events dated up to it are never learned again.
        self.erased: dict[str, int] = {}
        self.now = 0
        self.observed = 0
        self.skipped_erased = 0

    def __len__(self) -> int:
        return len(self.sessions)

    def observe(self, event: ClickEvent | PurchaseEvent) -> None:
        """Teach the model ``event`` and move its user's session on."""
        user = event.user_id
        if self.erased and event.ts <= self.erased.get(user, -1):
            self.skipped_erased += 1
            return
        session = self.sessions.pop(user, None)
        if session is None:
            session = SessionItems()
        self.recommender.observe(session, event)
        self.sessions[user] = session
        if len(self.sessions) > self.max_sessions:
            del self.sessions[next(iter(self.sessions))]
        if event.ts > self.now:
            self.now = event.ts
        self.observed += 1

    def erase(self, user_id: str, ts: int) -> int:
        """Forget the user's sessions, here and in session-kNN; returns how many kNN sessions went."""
        self.sessions.pop(user_id, None)
        self.erased[user_id] = max(ts, self.erased.pop(user_id, ts))
        if len(self.erased) > self.max_erased:
            del self.erased[next(iter(self.erased))]
        return self.recommender.forget_user(user_id)

    def recommend(self, user_id: str, k: int | None = None) -> Recommendation:
        """The list for ``user_id`` now (at the latest event time fed), from their session if it is going."""
        session = self.sessions.get(user_id)
        return self.recommender.recommend_on_demand(session if session is not None else SessionItems(), user_id, self.now, k)

    def kept_sessions(self) -> dict[str, SessionItems]:
        """What a snapshot carries: sessions still going at the latest event time, and carts and purchases.

        An idle session starts afresh with its user's next event anyway; only what it
        excludes from lists (the cart, the purchases) outlives it.
        """
        since = self.now - self.recommender.gap_ms
        return {
            user: s for user, s in self.sessions.items() if s.purchased or s.cart or (s.last_ts is not None and s.last_ts >= since)
        }

    def __getstate__(self) -> dict[str, Any]:
        # Leaving idle sessions out changes no list and keeps a snapshot's size to the users
        # active within the gap (and the buyers), however many users were ever seen.
        state = dict(self.__dict__)
        state["sessions"] = self.kept_sessions()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
