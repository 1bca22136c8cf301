"""The online next-item recommender: crafted sessions, bounds, serialisation, determinism, real data."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem
from scorer.recommend import POPULAR, POPULAR_IN_CATEGORY, SESSION, ForwardDecay, NextItemEvaluator, Popularity, prequential_next_item, Recommender, RecommenderConfig, SessionItems
from tests.strategies import T0

MINUTE = 60_000
DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


def view(n: int, user: str, item: str, ts: int, session: str | None = None, category: str | None = None) -> ClickEvent:
    return ClickEvent(f"e{n}", user, ts, "product_view", item_id=item, category=category, session_id=session)


def feed(reco: Recommender, events, sessions: dict[str, SessionItems] | None = None) -> dict[str, SessionItems]:
    sessions = {} if sessions is None else sessions
    for event in events:
        reco.observe(sessions.setdefault(event.user_id, SessionItems()), event)
    return sessions


def items_of(ranked: list[tuple[str, float]]) -> list[str]:
    return [item for item, _ in ranked]


def shop_history(n_sessions: int = 30) -> list[ClickEvent]:
    """Sessions in which "phone" is always followed by "case", among unrelated browsing."""
    events = []
    ts = T0
    for s in range(n_sessions):
        noise = [f"x{(s * 7 + j) % 13}" for j in range(3)]
        for item in [noise[0], "phone", "case", noise[1], noise[2]]:
            ts += MINUTE
            events.append(view(len(events), f"u{s}", item, ts, session=f"s{s}"))
    return events


# -- crafted sessions ----------------------------------------------------------


def test_an_item_always_followed_by_another_is_recommended_after_it():
    reco = Recommender()
    feed(reco, shop_history())
    me = SessionItems()
    event = view(999, "me", "phone", T0 + 1_000 * MINUTE, session="mine")
    reco.observe(me, event)
    ranked = items_of(reco.recommend(me, event, k=5))
    assert reco.last_strategy == SESSION
    # The item just viewed may come first (users re-view); the follower comes right after.
    assert [item for item in ranked if item != "phone"][0] == "case"


def test_what_followed_the_last_two_views_ranks_first_after_the_item_itself():
    # a b -> c in many sessions, but after b alone d is as common: the pair decides.
    reco = Recommender(RecommenderConfig(k=3, knn_weight=0.0, popularity_weight=0.0))
    clicks = [("a", "b", "c")] * 3 + [("x", "b", "d")] * 3
    events = [view(n * 3 + p, f"u{n}", item, T0 + n * MINUTE + p, f"s{n}") for n, items in enumerate(clicks) for p, item in enumerate(items)]
    feed(reco, events)
    me = SessionItems()
    for p, item in enumerate(["a", "b"]):
        reco.observe(me, view(100 + p, "me", item, T0 + 60 * MINUTE + p, "mine"))
    assert items_of(reco.recommend(me, None))[:2] == ["b", "c"]
    assert reco.transitions.scores(["a", "b"]) == pytest.approx({"c": 0.75}, rel=1e-2)


def test_purchased_items_are_excluded_and_cart_items_only_when_asked():
    history = shop_history()
    for exclude_cart, expect_case in [(False, True), (True, False)]:
        reco = Recommender(RecommenderConfig(exclude_cart=exclude_cart))
        feed(reco, history)
        me = SessionItems()
        ts = T0 + 1_000 * MINUTE
        reco.observe(me, ClickEvent("c1", "me", ts, "add_to_cart", item_id="case", session_id="mine"))
        event = view(1, "me", "phone", ts + MINUTE, session="mine")
        reco.observe(me, event)
        assert ("case" in items_of(reco.recommend(me, event, k=10))) is expect_case

    reco = Recommender()
    feed(reco, history)
    me = SessionItems()
    ts = T0 + 1_000 * MINUTE
    reco.observe(me, PurchaseEvent("p1", "me", ts, "o1", (PurchaseItem("case", 9.0),)))
    event = view(1, "me", "phone", ts + MINUTE, session="mine")
    reco.observe(me, event)
    ranked = items_of(reco.recommend(me, event, k=10))
    assert "case" not in ranked and ranked, ranked
    # ...and it stays excluded in the user's later sessions, and from cold lists.
    later = view(2, "me", "phone", ts + 600 * MINUTE, session="next")
    assert "case" not in items_of(reco.recommend(me, later, k=50))


def test_a_cold_user_gets_what_is_popular_in_the_event_category():
    reco = Recommender()
    events = []
    for n in range(40):
        category, item = ("hats", f"hat{n % 3}") if n % 4 else ("shoes", f"shoe{n % 5}")
        events.append(view(n, f"u{n}", item, T0 + n * MINUTE, session=f"s{n}", category=category))
    feed(reco, events)
    newcomer = SessionItems()
    landing = ClickEvent("l1", "new", T0 + 50 * MINUTE, "page_view", category="shoes")
    ranked = items_of(reco.recommend(newcomer, landing, k=3))
    assert reco.last_strategy == POPULAR_IN_CATEGORY
    assert ranked and all(item.startswith("shoe") for item in ranked), ranked

    anywhere = ClickEvent("l2", "new", T0 + 50 * MINUTE, "page_view")
    assert items_of(reco.recommend(newcomer, anywhere, k=1))[0].startswith("hat")  # hats sell more
    assert reco.last_strategy == POPULAR
    unknown = ClickEvent("l3", "new", T0 + 50 * MINUTE, "page_view", category="gloves")
    assert items_of(reco.recommend(newcomer, unknown, k=3)) == items_of(reco.recommend(newcomer, anywhere, k=3))
    assert reco.last_strategy == POPULAR


def test_an_empty_model_recommends_nothing_rather_than_failing():
    reco = Recommender()
    assert reco.recommend(SessionItems(), None) == []
    me = SessionItems()
    event = view(1, "me", "a", T0, session="s")
    reco.observe(me, event)
    assert items_of(reco.recommend(me, event)) == ["a"]


def test_a_new_session_starts_on_a_new_id_or_after_30_minutes_without_one():
    s = SessionItems()
    s.observe(view(1, "u", "a", T0, session="s1"))
    assert not s.starts_new(view(2, "u", "b", T0 + 5 * MINUTE, session="s1"))
    assert not s.starts_new(view(2, "u", "b", T0 + 300 * MINUTE, session="s1"))  # the id rules
    assert s.starts_new(view(2, "u", "b", T0 + MINUTE, session="s2"))
    assert not s.starts_new(PurchaseEvent("p", "u", T0 + 10 * MINUTE, "o", (PurchaseItem("a", 1.0),)))
    assert s.starts_new(view(2, "u", "b", T0 + 31 * MINUTE))
    s.observe(view(3, "u", "b", T0 + 31 * MINUTE))
    assert (s.session_id, s.started, s.items) == (None, T0 + 31 * MINUTE, ["b"])


def test_a_list_for_an_event_that_starts_a_new_session_ignores_the_old_session():
    reco = Recommender()
    sessions = feed(reco, shop_history())
    me = sessions["u0"]
    returning = ClickEvent("r", "u0", T0 + 10_000 * MINUTE, "page_view", session_id="fresh")
    reco.recommend(me, returning, k=5)
    assert reco.last_strategy == POPULAR
    assert reco.recommend_with_strategy(me, returning, k=5).strategy == POPULAR


# -- metrics -------------------------------------------------------------------


def test_the_first_view_of_a_session_is_not_counted_and_the_item_is_hidden():
    reco = Recommender()
    clicks = [view(0, "u1", "a", T0, "s1"), view(1, "u1", "a", T0 + 1, "s1"), view(2, "u1", "b", T0 + 2, "s2")]
    result = prequential_next_item(clicks, reco)
    assert result.count == 1 and result.hr10 == 1.0 and result.mrr20 == 1.0


def test_the_evaluator_scores_ranks_within_10_and_20():
    evaluator = NextItemEvaluator()
    ranked = [f"i{n}" for n in range(20)]
    for actual in ["i0", "i9", "i14", "nowhere"]:
        evaluator.add(ranked, actual)
    result = evaluator.result()
    assert (result.count, result.hr10, result.hr20) == (4, 0.5, 0.75)
    assert math.isclose(result.mrr10, (1 + 1 / 10) / 4)
    assert math.isclose(result.mrr20, (1 + 1 / 10 + 1 / 15) / 4)


# -- properties: bounded memory, exact round trip, determinism ------------------

ITEMS = [f"i{n}" for n in range(40)]


@st.composite
def streams(draw, max_size: int = 120):
    """Events of a few users over many items, mostly forward in time with some late ones."""
    n = draw(st.integers(1, max_size))
    ts = T0
    events = []
    for index in range(n):
        ts += draw(st.sampled_from([0, 1_000, MINUTE, 40 * MINUTE, 30 * 86_400_000]))
        late = draw(st.sampled_from([0, 0, 0, 5 * MINUTE]))
        user = draw(st.sampled_from(["u1", "u2", "u3", "u4"]))
        item = draw(st.sampled_from(ITEMS))
        kind = draw(st.sampled_from(["product_view"] * 6 + ["add_to_cart", "remove_from_cart", "page_view", "buy"]))
        session = draw(st.none() | st.sampled_from(["s1", "s2", "s3"]))
        category = draw(st.none() | st.sampled_from(["c1", "c2", "c3", "c4", "c5"]))
        if kind == "buy":
            line = PurchaseItem(item, 1.0, 1, category)
            events.append(PurchaseEvent(f"e{index}", user, ts - late, f"o{index}", (line,)))
        else:
            events.append(ClickEvent(f"e{index}", user, ts - late, kind, item_id=item, category=category, session_id=session))
    return events


TIGHT = RecommenderConfig(
    max_session_items=4,
    max_cart=2,
    max_purchased=3,
    cooccurrence_neighbours=3,
    cooccurrence_half_life_s=600.0,
    knn_max_sessions=5,
    knn_sessions_per_item=3,
    knn_sample=2,
    knn_k=2,
    popularity_top_n=4,
    popularity_half_life_s=600.0,
    max_categories=2,
    max_items=10,
    transitions_next=2,
    transitions_pairs=5,
)


@settings(max_examples=150, deadline=None)
@given(streams())
def test_memory_stays_within_its_bounds_whatever_the_input(events):
    reco = Recommender(TIGHT)
    sessions = feed(reco, events)
    co, knn, pop = reco.cooccurrence, reco.knn, reco.popularity
    assert all(size <= TIGHT.cooccurrence_neighbours * 3 // 2 for size in co.row_sizes())
    assert len(co.counts) <= TIGHT.max_items * 1.1 and set(co.neighbours) <= set(co.counts)
    assert len(knn.sessions) <= TIGHT.knn_max_sessions
    for key, (_, items) in knn.sessions.items():
        assert len(items) <= TIGHT.max_session_items and len(set(items)) == len(items)
    for item, holders in knn.index.items():
        assert 0 < len(holders) <= TIGHT.knn_sessions_per_item
        assert all(item in knn.sessions[key][1] for key in holders)  # the index points only at live sessions
    assert len(pop.counts) <= TIGHT.max_items * 1.1
    assert len(pop.overall.weights) <= TIGHT.popularity_top_n
    assert all(len(top.weights) <= TIGHT.popularity_top_n for top in pop.by_category.values())
    assert len(pop.by_category) <= TIGHT.max_categories * 1.1
    rules = reco.transitions
    assert len(rules.rows) <= TIGHT.transitions_pairs
    assert all(0 < len(row) <= TIGHT.transitions_next * 3 // 2 for row in rules.rows.values())
    for session in sessions.values():
        assert len(session.items) <= TIGHT.max_session_items
        assert len(session.cart) <= TIGHT.max_cart and len(session.purchased) <= TIGHT.max_purchased
        ranked = reco.recommend(session, None, k=5)
        assert len(ranked) <= 5 and all(math.isfinite(score) for _, score in ranked)
        assert not set(items_of(ranked)) & set(session.purchased)


@settings(max_examples=150, deadline=None)
@given(streams(max_size=40))
def test_session_items_round_trip_exactly_through_json(events):
    sessions = feed(Recommender(TIGHT), events)
    for session in sessions.values():
        fields = session.to_fields()
        again = SessionItems.from_fields(orjson.loads(orjson.dumps(fields)))
        assert again == session and again.to_fields() == fields
        assert len(orjson.dumps(fields)) < 200  # tight bounds, short ids: small in the changelog


@settings(max_examples=50, deadline=None)
@given(streams(max_size=80))
def test_the_same_stream_gives_the_same_lists(events):
    one, two = Recommender(), Recommender()
    first, second = feed(one, events), feed(two, events)
    for user in first:
        assert one.recommend(first[user], None, k=20) == two.recommend(second[user], None, k=20)


def reference_cooccurrence_scores(co, context, alpha):
    """The co-occurrence formula of the module docstring, computed the plain way."""
    scale = co.decay.scale()
    scores: dict[str, float] = {}
    for item, weight in context:
        for neighbour, pair in co.neighbours.get(item, {}).items():
            if neighbour in co.counts:
                damp = max(1.0, co.counts[neighbour] * scale) ** alpha
                scores[neighbour] = scores.get(neighbour, 0.0) + weight * pair / co.counts[item] / damp
    return scores


def reference_knn_votes(knn, context, exclude):
    """V-SKNN votes computed the plain way: every sampled session, sorted by similarity, the first k vote."""
    similarity: dict[str, float] = {}
    for item, weight in context:
        taken = [key for key in reversed(knn.index.get(item, {})) if key != exclude][: knn.sample]
        for key in taken:
            similarity[key] = similarity.get(key, 0.0) + weight
    ranked = sorted(similarity.items(), key=lambda kv: -kv[1])
    chosen = ranked[: knn.k]
    if len(ranked) > knn.k and ranked[knn.k - 1][1] == ranked[knn.k][1]:
        # A tie across the cut goes to the most recently active sessions (then the larger key).
        edge = ranked[knn.k - 1][1]
        tied = sorted((kv for kv in ranked if kv[1] == edge), key=lambda kv: (knn.sessions[kv[0]][0], kv[0]), reverse=True)
        chosen = [kv for kv in chosen if kv[1] > edge] + tied[: knn.k - sum(1 for kv in chosen if kv[1] > edge)]
    votes: dict[str, float] = {}
    for key, sim in chosen:
        last_ts, items = knn.sessions[key]
        decayed = sim * 2.0 ** (-(knn.now - last_ts) / knn.half_life_ms) if knn.half_life_ms else sim
        for item in items:
            votes[item] = votes.get(item, 0.0) + decayed
    return votes


@settings(max_examples=100, deadline=None)
@given(streams(), st.sampled_from([0.0, 0.25, 0.5]))
def test_the_fast_scores_equal_the_formulas_they_implement(events, alpha):
    # The scoring code caches powers and sums before damping; this pins it to the plain formulas,
    # through rescales and forgotten items (the tight bounds forget often).
    reco = Recommender(TIGHT)
    sessions: dict[str, SessionItems] = {}
    for event in events:
        session = sessions.setdefault(event.user_id, SessionItems())
        reco.observe(session, event)
        context = [(item, 0.3**n) for n, item in enumerate(dict.fromkeys(reversed(session.items)))]
        own = session.session_key(event.user_id)
        fast = reco.cooccurrence.scores(context, alpha)
        plain = reference_cooccurrence_scores(reco.cooccurrence, context, alpha)
        assert list(fast) == list(plain)
        assert all(math.isclose(fast[item], plain[item], rel_tol=1e-9) for item in plain)
        votes = reco.knn.scores(context, exclude=own)
        assert votes == pytest.approx(reference_knn_votes(reco.knn, context, own), rel=1e-12)
        assert list(votes) == list(reference_knn_votes(reco.knn, context, own))


def test_cached_damping_follows_the_counts_through_landmark_moves():
    from scorer.recommend import CoOccurrence

    co = CoOccurrence(half_life_s=60.0, max_neighbours=4)
    history: list[str] = []
    for step in range(400):  # a step is 5 half-lives: the landmark moves every 10 steps
        item = ITEMS[(step * 7) % 11]
        co.learn(history[-3:], item, T0 + step * 300_000)
        history.append(item)
        context = [(item, 1.0), (history[-2] if len(history) > 1 else item, 0.3)]
        fast, plain = co.scores(context, 0.5), reference_cooccurrence_scores(co, context, 0.5)
        assert fast.keys() == plain.keys()
        assert all(math.isclose(fast[key], plain[key], rel_tol=1e-9) for key in plain)


@given(st.lists(st.tuples(st.sampled_from(ITEMS[:12]), st.integers(0, 10_000)), max_size=200))
def test_the_tracked_top_items_are_the_true_top_items(views):
    pop = Popularity(half_life_s=3_600.0, top_n=4)
    for item, ts in sorted(views, key=lambda view: view[1]):
        pop.learn(item, T0 + ts)
    true_top = sorted(pop.counts.values(), reverse=True)[:4]
    assert sorted(pop.overall.weights.values(), reverse=True) == true_top


def test_a_restored_session_recommends_what_the_live_one_did():
    reco = Recommender()
    sessions = feed(reco, shop_history())
    for session in sessions.values():
        restored = SessionItems.from_fields(orjson.loads(orjson.dumps(session.to_fields())))
        assert reco.recommend(restored, None) == reco.recommend(session, None)


def test_weights_survive_many_half_lives_and_old_news_fades():
    config = RecommenderConfig(cooccurrence_half_life_s=60.0, popularity_half_life_s=60.0)
    reco = Recommender(config)
    year = 365 * 86_400_000
    events = [view(n, "old", "old_hit", T0 + n, "s0") for n in range(50)]
    events += [view(100, "new", "new_hit", T0 + year, "s1")]
    feed(reco, events)
    assert items_of(reco.popularity.top())[0] == "new_hit"
    assert "old_hit" not in reco.popularity.counts  # decayed to nothing and forgotten
    clock = ForwardDecay(60.0)
    clock.advance(T0)
    for step in range(1, 200):  # many rebases; the value stays exact
        clock.advance(T0 + step * 600_000)
    assert clock.landmark is not None and math.isfinite(clock.weight(T0 + 199 * 600_000))


# -- real data -------------------------------------------------------------------


@pytest.mark.skipif(not (DATA / "yoochoose-100k" / "test.tsv").exists(), reason="needs ../shared/data")
def test_yoochoose_next_item_quality_meets_the_acceptance_bar():
    # Learn all of train, then recommend-then-learn through test, counting test only.
    # Deterministic; measured 70.85 % HR@20 and 38.32 % MRR@20 in about 4 s. The bar
    # asserted is the acceptance bar.
    from benchmarks.reco_eval import evaluate_yoochoose

    metrics = evaluate_yoochoose(RecommenderConfig())
    assert metrics.count == 10_152
    assert metrics.hr20 >= 0.70
    assert metrics.mrr20 >= 0.35


@pytest.mark.skipif(not (DATA / "rees46-2019-10-first17k.csv").exists(), reason="needs ../shared/data")
def test_rees46_replays_with_views_carts_and_purchases():
    # Measured 49.26 % HR@20 and 34.87 % MRR@20, learned from scratch over three hours.
    from benchmarks.reco_eval import evaluate_rees46

    metrics = evaluate_rees46(RecommenderConfig())
    assert metrics.count > 10_000
    assert metrics.hr20 >= 0.45 and metrics.mrr20 >= 0.30


@pytest.mark.skipif(not (DATA / "rees46-2019-10-first17k.csv").exists(), reason="needs ../shared/data")
def test_lists_equal_those_recorded_from_the_dict_based_recommender():
    # 2,000 lists on each of a YooChoose and a REES46 slice (tests/unit/recommend/recorded.py):
    # same strategy, same items in the same order, scores equal to the 10 digits recorded. A
    # rewrite of the recommender (arrays, batching) must keep every list, ties in order.
    from tests.unit.recommend.recorded import load_recorded, replay_lists, slices

    recorded = load_recorded()
    for name, events in slices().items():
        lists = replay_lists(events, Recommender())
        assert len(lists) == len(recorded[name]) == 2_000
        for (strategy, items, scores), (old_strategy, old_items, old_scores) in zip(lists, recorded[name]):
            assert (strategy, items) == (old_strategy, old_items)
            assert all(math.isclose(new, old, rel_tol=1e-9) for new, old in zip(scores, old_scores))
