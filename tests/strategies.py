"""Hypothesis strategies for events in the v1 contract."""

import orjson
from hypothesis import strategies as st

from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem

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


# -- malformed input, for the fuzz tests ---------------------------------------

FUZZ_T0 = 1_767_225_600_000

valid_clicks = st.builds(
    lambda i, kind: {"event_id": f"ok-{i}", "user_id": f"u{i % 5}", "ts": FUZZ_T0 + i, "type": kind, "item_id": f"i{i % 3}"},
    st.integers(0, 10**9),
    st.sampled_from(["page_view", "product_view", "add_to_cart", "search"]),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)  # what JSON encoders can write
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
broken_fields = st.fixed_dictionaries(
    {},
    optional={
        "event_id": json_values,
        "user_id": json_values,
        "ts": json_values,
        "type": json_values,
        "price": json_values,
        "items": json_values,
    },
)
# Picked by index so that failure reports do not print 70 kB of payload.
SPECIAL = (
    b'{"event_id": "x", "user_id": "u", "ts": NaN, "type": "search"}',
    b"\xff\xfe\xfd",
    orjson.dumps({"event_id": "x", "user_id": "u", "ts": FUZZ_T0, "type": "search", "query": "q" * 70_000}),
)
malformed = st.one_of(
    st.binary(max_size=64).filter(lambda b: not b.strip().startswith(b"{")),
    st.integers(0, len(SPECIAL) - 1).map(SPECIAL.__getitem__),
    broken_fields.map(orjson.dumps),
)
