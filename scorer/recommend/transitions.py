"""Second-order sequential rules: what followed the session's last two views, learned as clicks arrive.

Co-occurrence and session-kNN score candidates item by item; the exact pair
``(previous, last)`` of a session's two latest views is a sharper cue where it
has been seen before (on the YooChoose sample it raised MRR@20 by about 0.15
points on the validation day, where first-order rules added nothing over
co-occurrence). Each time a view ``j`` follows the views ``(i, h)``, the rule
``(i, h) -> j`` gains the event's forward-decay weight
(:mod:`scorer.recommend.forward_decay`). An immediate re-view (``j == h``) is
not counted: in-session repeats already rank the last item first.

Scores are the rule's share of what followed the pair, shrunk towards zero
by ``prior`` events' worth of weight at the latest time,

    score(j) = w(i, h, j) / (sum_j' w(i, h, j') + prior * w(now))

so a pair seen once does not outvote the other components as if it were
certain. They are on a scale of their own (at most 1), not divided by their
maximum before blending.

Memory is bounded: each pair keeps its ``max_next`` strongest followers (a
row is cut back once it is half as long again), at most ``max_pairs`` pairs
are kept (the least recently followed go first), and weights that decay to
nothing are dropped when the landmark moves. Rows hold aggregates of many
sessions, no user's session, so an erasure has nothing to remove here.

>>> rules = PairTransitions(half_life_s=86_400, prior=1.0)
>>> for session in (["a", "b", "c"], ["a", "b", "c"], ["x", "b", "d"]):
...     for position, item in enumerate(session):
...         rules.learn(session[:position], item, ts=0)
>>> {item: round(score, 3) for item, score in rules.scores(["a", "b"]).items()}
{'c': 0.667}
>>> rules.scores(["z", "b"])
{}
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from scorer.recommend.eviction import rescale_rows
from scorer.recommend.forward_decay import ForwardDecay

__all__ = ["PairTransitions"]


class PairTransitions:
    """Decayed counts of ``(previous, last) -> next`` over sessions' consecutive views."""

    __slots__ = ("decay", "prior", "max_next", "max_pairs", "rows")

    def __init__(
        self, half_life_s: float = 7 * 86_400.0, prior: float = 1.0, max_next: int = 20, max_pairs: int = 500_000
    ) -> None:
        self.decay = ForwardDecay(half_life_s)
        self.prior = prior
        self.max_next = max_next
        self.max_pairs = max_pairs
        # (previous, last) -> {next: stored weight}, least recently followed first.
        self.rows: dict[tuple[str, str], dict[str, float]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def learn(self, history: Sequence[str], item: str, ts: int) -> None:
        """Count ``item`` viewed at ``ts`` after ``history`` (the session's earlier views, oldest first)."""
        factor = self.decay.advance(ts)
        if factor is not None:
            rescale_rows(self.rows, factor)
        if len(history) < 2 or history[-1] == item:
            return
        key = (history[-2], history[-1])
        row = self.rows.pop(key, None)
        if row is None:
            row = {}
        row[item] = row.get(item, 0.0) + self.decay.weight(ts)
        if len(row) > self.max_next + self.max_next // 2:
            # Cut back only once half as long again, so the sort is amortised over many events.
            row = dict(sorted(row.items(), key=itemgetter(1), reverse=True)[: self.max_next])
        self.rows[key] = row  # re-inserted at the end: most recently followed
        if len(self.rows) > self.max_pairs:
            del self.rows[next(iter(self.rows))]

    def scores(self, items: Sequence[str]) -> dict[str, float]:
        """Shrunk shares of the followers of the session's last two views (``items``, oldest first)."""
        if len(items) < 2:
            return {}
        row = self.rows.get((items[-2], items[-1]))
        if not row:
            return {}
        total = sum(row.values()) + self.prior * self.decay.weight(self.decay.now)
        return {item: weight / total for item, weight in row.items()}
