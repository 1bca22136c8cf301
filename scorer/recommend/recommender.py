"""The online next-item recommender: learns from the clickstream as it flows, ranks what to show next.

One :class:`Recommender` per worker holds the global model, shared by all its
users; one :class:`SessionItems` per user (stored in the user's record) holds
that user's session. Every event goes through :meth:`Recommender.observe`;
:meth:`Recommender.recommend` ranks items for the session so far by blending

- in-session repeats: users go back to what they just looked at (on YooChoose
  a third of the next clicks are an item already in the session);
- item-to-item co-occurrence within sessions (:mod:`scorer.recommend.cooccurrence`);
- second-order sequential rules: what followed the session's last two views
  elsewhere (:mod:`scorer.recommend.transitions`);
- session-kNN over recent sessions (:mod:`scorer.recommend.session_knn`);
- recency-weighted popularity in the category of the session's latest item
  (:mod:`scorer.recommend.popularity`), which also serves cold users alone.

Each component's scores are divided by their maximum before the weighted sum,
so the weights in :class:`RecommenderConfig` compare like with like; the
sequential rules' scores are shares of at most 1 already and are not (a pair
seen once should not count as much as a well-trodden one). All time
is event time; nothing here reads a clock.

>>> from scorer.events import ClickEvent
>>> reco = Recommender(RecommenderConfig(k=3))
>>> sessions: dict[str, SessionItems] = {}
>>> for n, (user, item) in enumerate([("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"), ("u3", "c"), ("u3", "c")]):
...     click = ClickEvent(f"e{n}", user, 1_000 * n, "product_view", item_id=item, session_id=user)
...     reco.observe(sessions.setdefault(user, SessionItems()), click)
>>> me, click = SessionItems(), ClickEvent("e9", "me", 9_000, "product_view", item_id="a", session_id="s9")
>>> reco.observe(me, click)
>>> [item for item, _ in reco.recommend(me, click)], reco.last_strategy
(['a', 'b', 'c'], 'session_blend')
>>> newcomer = ClickEvent("e10", "new", 10_000, "page_view")
>>> [item for item, _ in reco.recommend(SessionItems(), newcomer)], reco.last_strategy
(['a', 'c', 'b'], 'popular')
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from operator import itemgetter

from scorer.events import SESSION_GAP_S, ClickEvent, PurchaseEvent
from scorer.recommend.cooccurrence import CoOccurrence
from scorer.recommend.popularity import Popularity
from scorer.recommend.session import SESSION_ITEM_TYPES, SessionItems
from scorer.recommend.session_knn import SessionKNN
from scorer.recommend.transitions import PairTransitions

#: Strategies, as :attr:`Recommendation.strategy` and ``Recommender.last_strategy`` name them.
SESSION = "session_blend"  # the blend of repeats, co-occurrence, sequential rules, session-kNN and popularity
POPULAR_IN_CATEGORY = "popular_in_category"  # cold: popular lately in the event's category
POPULAR = "popular"  # cold: popular lately overall


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A ranked list, best first, and the strategy that produced it (for the published payload)."""

    items: list[tuple[str, float]]
    strategy: str


@dataclass(frozen=True, slots=True)
class RecommenderConfig:
    """Every setting of the recommender: blend weights, half-lives, bounds.

    The defaults were chosen on the YooChoose sample's train days only, with
    the last day of train held out (``benchmarks/reco_eval.py yoochoose
    --validate``), one setting at a time; the test day was not used to choose.
    Repeats weigh most (``repeat_weight=2``, steep ``repeat_decay``): a
    quarter of next clicks re-view the item just seen, so it should come
    first, while items seen earlier in the session fade fast. Co-occurrence
    and session-kNN weigh the same: dropping co-occurrence costs about 2 points
    of HR@20, dropping kNN about 0.5; a light popularity term fills the tail
    of the list. Sequential rules on the last two views (``transitions_weight``)
    and a floor under the repeat weight of items seen earlier in the session
    (``repeat_floor``) were added later, tuned the same way together with
    ``context_decay`` and ``cooccurrence_alpha``: on the validation day HR@20
    69.06 -> 69.49 and MRR@20 37.76 -> 37.89.
    Most other settings move HR@20 by less than 0.2 points
    around these values, so the bounds were set for speed and memory
    (``knn_sample``, ``cooccurrence_neighbours``, ``context_items``).
    """

    k: int = 10
    exclude_purchased: bool = True
    exclude_cart: bool = False
    # Blend weights; each component's scores are first divided by their maximum.
    repeat_weight: float = 2.0
    cooccurrence_weight: float = 1.0
    knn_weight: float = 1.0
    popularity_weight: float = 0.1
    transitions_weight: float = 2.0
    # The session: a new one after this much inactivity when events carry no session id.
    session_gap_s: float = SESSION_GAP_S
    max_session_items: int = 20
    max_cart: int = 20
    max_purchased: int = 50
    # The context: the latest distinct items of the session, the last weighing 1,
    # the one before ``context_decay``, then ``context_decay ** 2`` and so on.
    context_items: int = 5
    context_decay: float = 0.4
    # Repeats: an occurrence ``d`` views back weighs ``repeat_decay ** d``, and any item of the
    # session other than the two latest distinct ones at least ``repeat_floor``: in long sessions
    # users go back to items seen well before, more often than the steep decay says.
    repeat_decay: float = 0.3
    repeat_floor: float = 0.1
    # Co-occurrence.
    cooccurrence_half_life_s: float = 7 * 86_400.0
    cooccurrence_neighbours: int = 50
    cooccurrence_window: int = 5
    cooccurrence_backward: float = 0.5
    cooccurrence_alpha: float = 0.15
    # Sequential rules: the shrinkage (events' worth of weight) and the bounds.
    transitions_prior: float = 1.0
    transitions_next: int = 20
    transitions_pairs: int = 500_000
    # Session-kNN.
    knn_k: int = 50
    knn_sample: int = 100
    knn_max_sessions: int = 50_000
    knn_sessions_per_item: int = 200
    knn_half_life_s: float | None = 3 * 86_400.0
    # Popularity.
    popularity_half_life_s: float = 86_400.0
    popularity_top_n: int = 100
    max_categories: int = 10_000
    # Items tracked by the co-occurrence and popularity models.
    max_items: int = 500_000


class Recommender:
    """The global model shared by all users of a worker. Not thread-safe; one event at a time."""

    def __init__(self, config: RecommenderConfig | None = None) -> None:
        self.config = config = config if config is not None else RecommenderConfig()
        self.gap_ms = int(config.session_gap_s * 1000)
        self.cooccurrence = CoOccurrence(
            half_life_s=config.cooccurrence_half_life_s,
            max_neighbours=config.cooccurrence_neighbours,
            window=config.cooccurrence_window,
            backward_weight=config.cooccurrence_backward,
            max_items=config.max_items,
        )
        self.transitions = PairTransitions(
            half_life_s=config.cooccurrence_half_life_s,
            prior=config.transitions_prior,
            max_next=config.transitions_next,
            max_pairs=config.transitions_pairs,
        )
        self.knn = SessionKNN(
            k=config.knn_k,
            sample=config.knn_sample,
            max_sessions=config.knn_max_sessions,
            max_session_items=config.max_session_items,
            sessions_per_item=config.knn_sessions_per_item,
            half_life_s=config.knn_half_life_s,
        )
        self.popularity = Popularity(
            half_life_s=config.popularity_half_life_s,
            top_n=config.popularity_top_n,
            max_items=config.max_items,
            max_categories=config.max_categories,
        )
        self.last_strategy = POPULAR

    def observe(self, session: SessionItems, event: ClickEvent | PurchaseEvent) -> None:
        """Fold ``event`` into the user's ``session`` and into the global model.

        Views and adds to cart teach co-occurrence, session-kNN and
        popularity; a purchase counts towards popularity and is remembered so
        that it can be excluded; other clicks only move the session on.
        """
        config = self.config
        bounds = (self.gap_ms, config.max_session_items, config.max_cart, config.max_purchased)
        if isinstance(event, PurchaseEvent):
            session.observe(event, *bounds)
            for line in event.items:
                self.popularity.learn(sys.intern(line.item_id), event.ts, line.category)
            return
        if event.item_id is None or event.type not in SESSION_ITEM_TYPES:
            session.observe(event, *bounds)
            return
        # Interned, so that the many rows and sessions naming an item share one string.
        item = sys.intern(event.item_id)
        history = [] if session.starts_new(event, self.gap_ms) else list(session.items)
        session.observe(event, *bounds)
        self.cooccurrence.learn(history, item, event.ts)
        self.transitions.learn(history, item, event.ts)
        self.knn.learn(sys.intern(session.session_key(event.user_id)), item, event.ts)
        self.popularity.learn(item, event.ts, event.category)

    def observe_session(self, session: SessionItems, event: ClickEvent | PurchaseEvent) -> None:
        """Fold ``event`` into the user's ``session`` only, when another copy of the events teaches the model.

        A worker whose recommender learns from every partition (:class:`scorer.recommend.RecommenderReplica`)
        still keeps each owned user's session in their record; this moves it on exactly as
        :meth:`observe` would, without counting the event a second time.
        """
        config = self.config
        session.observe(event, self.gap_ms, config.max_session_items, config.max_cart, config.max_purchased)

    def forget_user(self, user_id: str) -> int:
        """Erase the user's sessions from session-kNN; co-occurrence and popularity hold only aggregates."""
        return self.knn.forget(SessionItems().session_key(user_id).split("\x1f")[0] + "\x1f")

    def recommend(
        self, session: SessionItems, event: ClickEvent | PurchaseEvent | None = None, k: int | None = None
    ) -> list[tuple[str, float]]:
        """The top ``k`` ``(item_id, score)`` to show next, best first.

        ``event`` is the event the list is for: it tells whether the session
        is still going (if it starts a new one, the list is a cold one), whose
        session it is (so that the session does not count as its own
        neighbour), and the category for a cold list. Its item is not used:
        the session holds what is known, so observe the event first if its
        item is to count. :attr:`last_strategy` then says what produced the list.
        """
        recommendation = self.recommend_with_strategy(session, event, k)
        self.last_strategy = recommendation.strategy
        return recommendation.items

    def recommend_with_strategy(
        self, session: SessionItems, event: ClickEvent | PurchaseEvent | None = None, k: int | None = None
    ) -> Recommendation:
        """Like :meth:`recommend`, returning the strategy with the list instead of setting an attribute."""
        config = self.config
        k = config.k if k is None else k
        items = session.items
        if event is not None and session.starts_new(event, self.gap_ms):
            items = []
        category = getattr(event, "category", None) if event is not None else None
        excluded = self._excluded(session)
        if not items:
            ranked = self.popularity.top(category) if category is not None else []
            strategy = POPULAR_IN_CATEGORY if ranked else POPULAR
            ranked = ranked or self.popularity.top()
            return Recommendation([(item, score) for item, score in ranked if item not in excluded][:k], strategy)
        if category is None:
            category = self.popularity.category_of.get(items[-1])
        own_key = session.session_key(event.user_id) if event is not None else None
        scores = self._blend(items, category, own_key)
        for item in excluded:
            scores.pop(item, None)
        # Stable, so ties keep blend order as nlargest did; a C sort beats nlargest's loop at these sizes.
        ranked = sorted(scores.items(), key=itemgetter(1), reverse=True)[:k]
        if len(ranked) < k:
            # A young model may know fewer candidates than asked for: fill with what is popular.
            ranked += [(item, 0.0) for item, _ in self.popularity.top() if item not in scores and item not in excluded]
        return Recommendation(ranked[:k], SESSION)

    def recommend_on_demand(self, session: SessionItems, user_id: str, now_ts: int, k: int | None = None) -> Recommendation:
        """A list asked for at event time ``now_ts`` rather than built for an event (``GET .../recommendations``).

        The session counts only if it is still going at ``now_ts`` (by the same
        inactivity gap as always), and it is never its own neighbour.
        """
        probe = ClickEvent("", user_id, now_ts, "page_view", session_id=session.session_id)
        return self.recommend_with_strategy(session, probe, k)

    def _blend(self, items: list[str], category: str | None, own_key: str | None) -> dict[str, float]:
        config = self.config
        context: list[tuple[str, float]] = []
        seen: set[str] = set()
        weight = 1.0
        for item in reversed(items):
            if item in seen:
                continue
            seen.add(item)
            context.append((item, weight))
            weight *= config.context_decay
            if len(context) >= config.context_items:
                break
        repeats: dict[str, float] = {}
        weight = 1.0
        for item in reversed(items):
            repeats[item] = repeats.get(item, 0.0) + weight
            weight *= config.repeat_decay
        if config.repeat_floor:
            floor = config.repeat_floor
            # The dict holds the distinct items latest first; the two latest keep their decayed weight.
            for item in list(repeats)[2:]:
                if repeats[item] < floor:
                    repeats[item] = floor
        # (weight, scores, divide by their maximum first)
        parts: list[tuple[float, dict[str, float], bool]] = [(config.repeat_weight, repeats, True)]
        if config.cooccurrence_weight:
            parts.append((config.cooccurrence_weight, self.cooccurrence.scores(context, config.cooccurrence_alpha), True))
        if config.transitions_weight:
            parts.append((config.transitions_weight, self.transitions.scores(items), False))
        if config.knn_weight:
            parts.append((config.knn_weight, self.knn.scores(context, exclude=own_key), True))
        if config.popularity_weight:
            popular = self.popularity.top_weights(category) if category is not None else None
            parts.append((config.popularity_weight, popular or self.popularity.top_weights(), True))
        blended: dict[str, float] = {}
        for part_weight, part, normalise in parts:
            if not part:
                continue
            top = max(part.values()) if normalise else 1.0
            if top <= 0.0:
                continue
            factor = part_weight / top
            if not blended:
                # 0.0 + x == x, so this is the loop below for the first part, at C speed.
                blended = {item: factor * score for item, score in part.items()}
                continue
            get = blended.get
            for item, score in part.items():
                blended[item] = get(item, 0.0) + factor * score
        return blended

    def _excluded(self, session: SessionItems) -> set[str]:
        excluded: set[str] = set()
        if self.config.exclude_purchased:
            excluded.update(session.purchased)
        if self.config.exclude_cart:
            excluded.update(session.cart)
        return excluded
