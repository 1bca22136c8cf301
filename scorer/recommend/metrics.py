"""Prequential next-item evaluation: recommend first, then learn, one event at a time.

The protocol the worker's live metrics and the offline evaluation share: for
each ``product_view``, the recommender ranks items with only what it knew
before the event (the event's item, category, brand and price are hidden),
the rank of the item actually viewed is scored, and only then does the model
observe the event. The model keeps learning throughout, as it does live.

A view is counted only when it continues a session that already holds at
least one item: at the first view of a session there is no prefix to predict
from. This is the usual session-based protocol (next item given the session
prefix, e.g. Ludewig and Jannach 2018), so on YooChoose-style data every
click but the first of each session is counted.

>>> from scorer.events import ClickEvent
>>> from scorer.recommend.recommender import Recommender
>>> views = [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b")]
>>> clicks = [ClickEvent(f"e{n}", user, 1_000 * n, "product_view", item_id=item, session_id=user)
...           for n, (user, item) in enumerate(views)]
>>> prequential_next_item(clicks, Recommender())  # u1's "b" is new; u2's comes second after "a"
NextItemMetrics(count=2, hr10=0.5, hr20=0.5, mrr10=0.25, mrr20=0.25)
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from scorer.events import ClickEvent, PurchaseEvent
from scorer.recommend.recommender import Recommender
from scorer.recommend.session import SessionItems


@dataclass(frozen=True, slots=True)
class NextItemMetrics:
    """Hit rate and mean reciprocal rank of the next item at 10 and 20, as fractions."""

    count: int
    hr10: float
    hr20: float
    mrr10: float
    mrr20: float

    def as_percent(self) -> str:
        return (
            f"HR@10 {100 * self.hr10:.2f}  HR@20 {100 * self.hr20:.2f}  "
            f"MRR@10 {100 * self.mrr10:.2f}  MRR@20 {100 * self.mrr20:.2f}  (n={self.count})"
        )


class NextItemEvaluator:
    """Accumulates HR@10, HR@20, MRR@10 and MRR@20 over ranked lists.

    >>> evaluator = NextItemEvaluator()
    >>> evaluator.add(["a", "b", "c"], "b")
    >>> evaluator.add(["a"], "z")
    >>> evaluator.result()
    NextItemMetrics(count=2, hr10=0.5, hr20=0.5, mrr10=0.25, mrr20=0.25)
    """

    __slots__ = ("count", "hits10", "hits20", "rr10", "rr20")

    def __init__(self) -> None:
        self.count = 0
        self.hits10 = self.hits20 = 0
        self.rr10 = self.rr20 = 0.0

    def add(self, ranked: list[str], actual: str) -> None:
        """Score one list (best first, at least 20 long for the @20 figures) against what came next."""
        self.count += 1
        try:
            rank = ranked.index(actual, 0, 20) + 1
        except ValueError:
            return
        self.hits20 += 1
        self.rr20 += 1.0 / rank
        if rank <= 10:
            self.hits10 += 1
            self.rr10 += 1.0 / rank

    def result(self) -> NextItemMetrics:
        n = self.count or 1
        return NextItemMetrics(self.count, self.hits10 / n, self.hits20 / n, self.rr10 / n, self.rr20 / n)


def hide_item(event: ClickEvent) -> ClickEvent:
    """The event as known before its item is: no item id, nor the item's category, brand or price."""
    return dataclasses.replace(event, item_id=None, category=None, brand=None, price=None)


def prequential_next_item(
    events: Iterable[ClickEvent | PurchaseEvent],
    recommender: Recommender,
    count_from: int | None = None,
    sessions: dict[str, SessionItems] | None = None,
) -> NextItemMetrics:
    """Run the recommend-then-observe loop over ``events``, in the order given.

    Parameters
    ----------
    events
        Clicks and purchases of any users, in the order they are to be learned.
    recommender
        The model; it observes every event, counted or not.
    count_from
        Event time (epoch ms) from which views are counted; earlier events
        only train. None counts from the start.
    sessions
        Per-user :class:`SessionItems`, filled in as users appear; pass a dict to keep them.
    """
    sessions = {} if sessions is None else sessions
    evaluator = NextItemEvaluator()
    for event in events:
        session = sessions.get(event.user_id)
        if session is None:
            session = sessions[event.user_id] = SessionItems()
        if (
            isinstance(event, ClickEvent)
            and event.type == "product_view"
            and event.item_id is not None
            and (count_from is None or event.ts >= count_from)
            and session.items
            and not session.starts_new(event, recommender.gap_ms)
        ):
            hidden = hide_item(event)
            ranked = recommender.recommend(session, hidden, k=20)
            evaluator.add([item for item, _ in ranked], event.item_id)
        recommender.observe(session, event)
    return evaluator.result()


class WindowedNextItem:
    """HR@K and MRR@K over the most recent ``window`` lists, for live gauges.

    >>> live = WindowedNextItem(window=2)
    >>> live.add(["a", "b"], "b"); live.add(["a"], "a"); live.add(["a"], "z")
    >>> live.result()
    NextItemMetrics(count=2, hr10=0.5, hr20=0.5, mrr10=0.5, mrr20=0.5)
    """

    __slots__ = ("ranks",)

    def __init__(self, window: int = 1_000) -> None:
        self.ranks: deque[int] = deque(maxlen=window)  # 0 for a miss

    def add(self, ranked: list[str], actual: str) -> None:
        try:
            self.ranks.append(ranked.index(actual, 0, 20) + 1)
        except ValueError:
            self.ranks.append(0)

    def result(self) -> NextItemMetrics:
        ranks = self.ranks
        n = len(ranks) or 1
        top10 = [r for r in ranks if 0 < r <= 10]
        top20 = [r for r in ranks if r > 0]
        return NextItemMetrics(
            len(ranks),
            len(top10) / n,
            len(top20) / n,
            sum(1.0 / r for r in top10) / n,
            sum(1.0 / r for r in top20) / n,
        )
