"""What the bandit sees of a user: a few compressed features and a coarse segment.

The context is a handful of the user's features (the feature state's own vector,
``state.to_x``), each ``log1p``-compressed so that a linear model of the reward is not
dominated by a long-lived user's counts, plus a constant and the segment as one-hot
terms. The segment is coarse on purpose: it is the unit of the exposure view, and
four groups with thousands of decisions each say more than forty with a handful.

>>> segment_of({"has_purchased": 0.0, "carts_hl1d": 0.0, "sessions_total": 1.0})
'new'
>>> segment_of({"has_purchased": 1.0, "carts_hl1d": 0.0, "sessions_total": 3.0})
'customer'
>>> sorted(context_of({"has_purchased": 1.0, "sessions_total": 3.0}, "customer"))[:3]
['aov', 'bias', 'cart_to_view_rate']
"""

from __future__ import annotations

import math

__all__ = ["CONTEXT_FEATURES", "SEGMENTS", "context_of", "segment_of"]

#: Features of the user's state the bandit's context holds.
CONTEXT_FEATURES = (
    "has_purchased",
    "frequency_orders",
    "aov",
    "views_hl1d",
    "views_hl7d",
    "carts_hl1d",
    "carts_hl7d",
    "purchases_hl7d",
    "sessions_total",
    "session_views",
    "session_carts",
    "cart_to_view_rate",
    "purchase_to_session_rate",
    "price_vs_user_avg",
)

SEGMENTS = ("new", "browser", "cart_builder", "customer")

_log1p = math.log1p


def segment_of(x: dict[str, float]) -> str:
    """``customer`` (has bought), ``cart_builder`` (carts lately), ``browser`` (came back), else ``new``."""
    if x.get("has_purchased", 0.0) > 0.0:
        return "customer"
    if x.get("carts_hl1d", 0.0) > 0.0:
        return "cart_builder"
    if x.get("sessions_total", 0.0) > 1.0:
        return "browser"
    return "new"


def context_of(x: dict[str, float], segment: str) -> dict[str, float]:
    """The bandit's context from the user's feature vector ``x`` and segment."""
    context = {"bias": 1.0, f"segment={segment}": 1.0}
    for name in CONTEXT_FEATURES:
        value = x.get(name, 0.0)
        if value == value:  # NaN stays out
            context[name] = _log1p(value) if value >= 0.0 else -_log1p(-value)
    return context
