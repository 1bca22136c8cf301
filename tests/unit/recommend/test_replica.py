"""A worker's replica of the one recommender: fed every user's events, it ranks like one process would."""

from __future__ import annotations

import pickle
import random

from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem, partition_for
from scorer.recommend import POPULAR, SESSION, Recommender, RecommenderReplica, SessionItems
from tests.strategies import T0

MINUTE = 60_000


def browsing(n_users: int = 40, n_events: int = 1_500, seed: int = 3, n_items: int = 60) -> list[ClickEvent | PurchaseEvent]:
    """Users browsing a small catalogue in sessions (no session ids: derived by inactivity), some buying."""
    rnd = random.Random(seed)
    events: list[ClickEvent | PurchaseEvent] = []
    ts = T0
    for n in range(n_events):
        ts += rnd.randrange(1_000, 40_000)
        user = f"u{rnd.randrange(n_users)}"
        item = f"i{min(rnd.randrange(n_items), rnd.randrange(n_items))}"
        if rnd.random() < 0.03:
            events.append(PurchaseEvent(f"p{n}", user, ts, f"o{n}", (PurchaseItem(item, 1.0),)))
        else:
            events.append(ClickEvent(f"e{n}", user, ts, "product_view", item_id=item, category=f"c{int(item[1:]) % 5}"))
    return events


def deliver(events, partitions: int, seed: int) -> list:
    """Each partition's events in order; which partition delivers next is random."""
    queues = [[e for e in events if partition_for(e.user_id.encode(), partitions) == p] for p in range(partitions)]
    rnd = random.Random(seed)
    out = []
    while any(queues):
        queue = rnd.choice([q for q in queues if q])
        take = rnd.randrange(1, 20)
        out.extend(queue[:take])
        del queue[:take]
    return out


def fed(events, **bounds) -> RecommenderReplica:
    replica = RecommenderReplica(Recommender(), **bounds)
    for event in events:
        replica.observe(event)
    return replica


def untied(built) -> list[tuple[float, frozenset[str]]]:
    """A list as (score, items with that score), without the last score: the cut may split a tie."""
    groups: dict[float, set[str]] = {}
    for item, score in built.items:
        groups.setdefault(round(score, 9), set()).add(item)
    ranked = sorted(groups.items(), reverse=True)
    return [(score, frozenset(items)) for score, items in ranked[:-1]]


def test_replicas_fed_in_different_partition_interleavings_rank_alike():
    events = browsing()
    first, second = fed(deliver(events, 4, seed=1)), fed(deliver(events, 4, seed=2))
    assert first.now == second.now
    compared = 0
    for user in sorted({e.user_id for e in events}):
        a, b = first.recommend(user, k=20), second.recommend(user, k=20)
        assert a.strategy == b.strategy
        assert untied(a) == untied(b), user
        compared += len(untied(a)) > 2
    assert compared > 10  # lists long enough to say something


def test_a_replica_ranks_like_one_recommender_fed_per_user_sessions():
    events = browsing()
    replica = fed(deliver(events, 4, seed=5))
    single, sessions = Recommender(), {}
    for event in events:
        single.observe(sessions.setdefault(event.user_id, SessionItems()), event)
    for user, session in sessions.items():
        assert replica.sessions[user] == session
        assert untied(replica.recommend(user, k=20)) == untied(single.recommend_on_demand(session, user, replica.now, k=20))


def test_a_session_idle_past_the_gap_gets_a_cold_list_on_demand():
    replica = fed(browsing())
    user = next(iter(replica.sessions))  # the least recently active
    assert replica.now - replica.sessions[user].last_ts > replica.recommender.gap_ms
    assert replica.recommend(user, k=5).strategy == POPULAR
    latest = next(reversed(replica.sessions))
    assert replica.recommend(latest, k=5).strategy == SESSION


def test_a_pickled_replica_goes_on_exactly_as_one_never_interrupted():
    events = browsing(n_events=2_000)
    whole = fed(events)
    half = fed(events[:1_000])
    resumed = pickle.loads(pickle.dumps(half))
    # Only sessions still going travel; the others would start afresh with their next event anyway.
    assert len(resumed.sessions) < len(half.sessions)
    assert set(resumed.sessions) == set(half.kept_sessions())
    for event in events[1_000:]:
        resumed.observe(event)
    for user in sorted(whole.kept_sessions()):
        assert untied(resumed.recommend(user, k=20)) == untied(whole.recommend(user, k=20)), user


def test_erasure_removes_the_users_sessions_and_keeps_them_out_of_the_snapshot():
    events = [e for e in browsing() if isinstance(e, ClickEvent)]
    replica = fed(events)
    user = events[-1].user_id
    knn_keys = [key for key in replica.recommender.knn.sessions if key.startswith(user + "\x1f")]
    assert knn_keys and user in replica.sessions
    assert replica.erase(user, ts=replica.now) == len(knn_keys)
    assert user not in replica.sessions
    assert not any(key.startswith(user + "\x1f") for key in replica.recommender.knn.sessions)
    restored = pickle.loads(pickle.dumps(replica))
    assert user not in restored.sessions and restored.erased[user] == replica.now
    assert not any(key.startswith(user + "\x1f") for key in restored.recommender.knn.sessions)
    # Redelivered after the erasure, an event dated before it teaches nothing.
    restored.observe(events[-1])
    assert user not in restored.sessions and restored.skipped_erased == 1
    later = ClickEvent("new", user, replica.now + 1, "product_view", item_id="i1")
    restored.observe(later)
    assert user in restored.sessions


def test_remembered_sessions_and_erasure_markers_are_bounded():
    replica = fed(browsing(n_users=50), max_sessions=10, max_erased=3)
    assert len(replica.sessions) == 10
    for n in range(5):
        replica.erase(f"u{n}", ts=replica.now)
    assert len(replica.erased) == 3 and set(replica.erased) == {"u2", "u3", "u4"}
