"""Rewards joined to decisions with one delay for every outcome, in event time.

A decision waits ``window_ms`` of event time (the conversion window) after it was
made. Until then, feedback for it (an impression, a click) and the user's purchases
are noted; once the clock passes the window's end the decision resolves to one reward
and only then is it learned, whatever happened first. That is how the propensity
labels work, and for the same reason: learning a click at once but a "no click"
only later would teach the bandit that every offer pays.

The clock is the latest event time seen (events and feedback alike). An outcome
dated after the window's end is late and changes nothing; feedback for a decision
that is not pending (never made here, or already resolved) is ``unknown``, and the
worker dead-letters it.

>>> join = RewardJoin(window_ms=60_000)
>>> join.add(Pending("d1", "u1", "free_shipping", "new", 1_000, {}, 0.5))
>>> join.feedback("d1", "click", 60_999), join.feedback("d9", "click", 2_000)
('joined', 'unknown')
>>> join.advance(61_000)  # the window ends at 61,000 and is still open
[]
>>> [(p.decision_id, reward) for p, reward in join.advance(61_001)]
[('d1', 1.0)]
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

__all__ = ["FEEDBACK_KINDS", "Pending", "RewardJoin"]

FEEDBACK_KINDS = ("impression", "click")


@dataclass(slots=True)
class Pending:
    """A decision waiting for its window to close."""

    decision_id: str
    user_id: str
    offer_id: str
    segment: str
    ts: int
    context: dict[str, float]
    propensity: float
    impressed: bool = False
    clicked: bool = False
    purchased: bool = False
    #: Outcomes dated after the window, counted and ignored.
    late: int = field(default=0)


class RewardJoin:
    """Pending decisions by id, their deadlines, and the outcomes joined to them."""

    def __init__(self, window_ms: int, purchase_reward: bool = True) -> None:
        self.window_ms = window_ms
        #: Whether a purchase within the window rewards the decision as a click does.
        self.purchase_reward = purchase_reward
        self.pending: dict[str, Pending] = {}
        self._due: list[tuple[int, str]] = []
        self._by_user: dict[str, list[str]] = {}
        self.clock = 0
        self.late = 0
        self.unknown = 0

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, pending: Pending) -> None:
        self.pending[pending.decision_id] = pending
        heapq.heappush(self._due, (pending.ts + self.window_ms, pending.decision_id))
        self._by_user.setdefault(pending.user_id, []).append(pending.decision_id)

    def feedback(self, decision_id: str, kind: str, ts: int) -> str:
        """Note an impression or click: ``joined``, ``late`` (after the window) or ``unknown``."""
        found = self.pending.get(decision_id)
        if found is None:
            self.unknown += 1
            return "unknown"
        if not found.ts <= ts <= found.ts + self.window_ms:
            found.late += 1
            self.late += 1
            return "late"
        if kind == "click":
            found.clicked = True
        else:
            found.impressed = True
        return "joined"

    def purchase(self, user_id: str, ts: int) -> int:
        """Note a purchase of ``user_id`` at ``ts``; how many pending decisions it falls within."""
        joined = 0
        for decision_id in self._by_user.get(user_id, ()):
            found = self.pending.get(decision_id)
            if found is not None and found.ts <= ts <= found.ts + self.window_ms:
                found.purchased = True
                joined += 1
        return joined

    def reward(self, pending: Pending) -> float:
        return 1.0 if pending.clicked or (self.purchase_reward and pending.purchased) else 0.0

    def advance(self, now_ms: int) -> list[tuple[Pending, float]]:
        """Move the clock to ``now_ms``; the decisions whose window ended before it, with their rewards."""
        if now_ms > self.clock:
            self.clock = now_ms
        due = self._due
        resolved: list[tuple[Pending, float]] = []
        while due and due[0][0] < self.clock:
            _, decision_id = heapq.heappop(due)
            found = self.pending.pop(decision_id, None)
            if found is None:  # the user was erased
                continue
            ids = self._by_user.get(found.user_id)
            if ids is not None:
                ids.remove(decision_id)
                if not ids:
                    del self._by_user[found.user_id]
            resolved.append((found, self.reward(found)))
        return resolved

    def forget_user(self, user_id: str) -> int:
        """Drop an erased user's pending decisions; how many there were."""
        ids = self._by_user.pop(user_id, [])
        for decision_id in ids:
            self.pending.pop(decision_id, None)
        return len(ids)
