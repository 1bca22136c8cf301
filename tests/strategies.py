"""Hypothesis strategies for events in the v1 contract."""

from hypothesis import strategies as st

from events import ClickEvent, PurchaseEvent, PurchaseItem

T0 = 1_700_000_000_000
ids = st.sampled_from(["a", "b", "c", "d"])
prices = st.floats(min_value=0, max_value=10_000, allow_nan=False, allow_infinity=False)


@st.composite
def clicks(draw, ts=st.integers(T0, T0 + 30 * 86_400_000)):
    return ClickEvent(
        event_id=draw(st.uuids()).hex,
        user_id="u",
        ts=draw(ts),
        type=draw(st.sampled_from(["page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "checkout"])),
        item_id=draw(st.none() | ids),
        category=draw(st.none() | ids),
        brand=draw(st.none() | ids),
        price=draw(st.none() | prices),
        session_id=draw(st.none() | st.sampled_from(["s1", "s2"])),
    )


@st.composite
def purchases(draw, ts=st.integers(T0, T0 + 30 * 86_400_000)):
    lines = draw(st.lists(st.builds(PurchaseItem, item_id=ids, price=prices, quantity=st.integers(0, 3), category=st.none() | ids), min_size=1, max_size=3))
    return PurchaseEvent(event_id=draw(st.uuids()).hex, user_id="u", ts=draw(ts), order_id="o", items=tuple(lines))


events = st.one_of(clicks(), clicks(), clicks(), purchases())
