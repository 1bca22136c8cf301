import math

from hypothesis import given, settings
from hypothesis import strategies as st

from scorer.events import ClickEvent
from scorer.features import NO_PURCHASE_RECENCY_S, StateBounds, UserState
from scorer.features import USER_FEATURE_NAMES as FEATURE_NAMES
from tests.strategies import T0, clicks, events


def fold(stream):
    state = UserState()
    for event in stream:
        state.update(event)
    return state


@given(st.lists(events, min_size=1, max_size=40))
def test_every_feature_is_finite_and_named(stream):
    state = fold(stream)
    x = state.to_x(stream[-1])
    assert tuple(x) == FEATURE_NAMES
    assert all(math.isfinite(v) for v in x.values())


@given(st.lists(events, min_size=1, max_size=40))
def test_serialization_round_trips_exactly(stream):
    state = fold(stream)
    again = UserState.from_bytes(state.to_bytes())
    assert again.to_bytes() == state.to_bytes()
    assert again.to_x(stream[-1]) == state.to_x(stream[-1])


@given(st.lists(clicks(ts=st.integers(T0, T0 + 3_000_000)), min_size=2, max_size=30), st.randoms())
def test_decayed_counts_do_not_depend_on_arrival_order_within_lateness(stream, rnd):
    # Every event here lies within the 1 h lateness bound of every other.
    shuffled = list(stream)
    rnd.shuffle(shuffled)
    a, b = fold(stream), fold(shuffled)
    latest = max(e.ts for e in stream)
    assert a.ref_ts == b.ref_ts == latest
    for left, right in zip(a.counters, b.counters, strict=True):
        assert math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(1, 10_000_000))
def test_decay_falls_monotonically_without_events(gap_s):
    state = fold([ClickEvent("e1", "u", T0, "product_view", item_id="i")])
    before = state.to_x(ClickEvent("e1", "u", T0, "product_view"))["views_hl1h"]
    state.update(ClickEvent("e2", "u", T0 + gap_s * 1000, "page_view"))
    after = state.to_x(ClickEvent("e2", "u", T0 + gap_s * 1000, "page_view"))["views_hl1h"]
    assert after < before == 1.0
    assert math.isclose(after, 2 ** (-gap_s / 3600), rel_tol=1e-9)


def test_repeated_event_id_changes_nothing():
    event = ClickEvent("e1", "u", T0, "add_to_cart", item_id="i", price=5.0)
    state = fold([event])
    frozen = state.to_bytes()
    assert state.update(event) is False
    assert state.to_bytes() == frozen


def test_new_session_on_a_new_session_id_or_after_inactivity_without_one():
    state = fold(
        [
            ClickEvent("e1", "u", T0, "page_view", session_id="s1"),
            ClickEvent("e2", "u", T0 + 60_000, "page_view", session_id="s1"),
            # The producer's id decides when there is one, however long the pause.
            ClickEvent("e3", "u", T0 + 60_000 + 31 * 60_000, "page_view", session_id="s1"),
            ClickEvent("e4", "u", T0 + 60_000 + 32 * 60_000, "page_view", session_id="s2"),
            ClickEvent("e5", "u", T0 + 60_000 + 33 * 60_000, "page_view"),
            # Without one, 30 minutes of inactivity close the session.
            ClickEvent("e6", "u", T0 + 60_000 + 64 * 60_000, "page_view"),
        ]
    )
    assert state.sessions_total == 3
    assert state.session_events == 1


def test_late_event_beyond_lateness_does_not_move_session_back():
    bounds = StateBounds(lateness_s=3600)
    state = UserState()
    state.update(ClickEvent("e1", "u", T0 + 10 * 3_600_000, "product_view", session_id="s1"), bounds)
    state.update(ClickEvent("e0", "u", T0, "product_view", session_id="s0"), bounds)
    assert (state.session_id, state.session_events, state.views_total) == ("s1", 1, 2)


def test_rfm_after_purchase():
    from scorer.events import PurchaseEvent, PurchaseItem

    state = UserState()
    click = ClickEvent("e1", "u", T0, "page_view")
    state.update(click)
    assert state.to_x(click)["recency_s"] == NO_PURCHASE_RECENCY_S
    state.update(PurchaseEvent("p1", "u", T0 + 1000, "o1", (PurchaseItem("i", 10.0, 2),)))
    later = ClickEvent("e2", "u", T0 + 61_000, "page_view")
    state.update(later)
    x = state.to_x(later)
    assert (x["recency_s"], x["frequency_orders"], x["monetary_total"], x["aov"]) == (60.0, 1.0, 20.0, 20.0)


@settings(max_examples=30)
@given(st.lists(clicks(), min_size=50, max_size=200))
def test_maps_stay_bounded(stream):
    bounds = StateBounds(top_items=3, top_categories=2, top_brands=2)
    state = UserState()
    for event in stream:
        state.update(event, bounds)
    assert len(state.items) <= 3
    assert len(state.category_weight) <= 2 and len(state.brand_weight) <= 2
    assert len(state.recent_ids) <= bounds.recent_event_ids


def test_event_ids_whose_crc32_collide_are_both_counted():
    import zlib

    from scorer.events import ClickEvent
    from scorer.features.user_state import UserState

    assert zlib.crc32(b"plumless") == zlib.crc32(b"buckeroo")
    state = UserState()
    assert state.update(ClickEvent("plumless", "u1", 1_700_000_000_000, "page_view"))
    assert state.update(ClickEvent("buckeroo", "u1", 1_700_000_001_000, "page_view"))
    assert not state.update(ClickEvent("buckeroo", "u1", 1_700_000_001_000, "page_view"))
