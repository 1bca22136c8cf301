"""Exact exponential decay in event time.

A decayed count ``c`` referenced to time ``t0`` is worth ``c * 2**(-(t - t0) / h)``
at a later time ``t`` for half-life ``h``. Keeping every counter of a user
referenced to the same time (the user's latest event) means one multiply per
counter when time moves forward, and a late event adds its own decayed weight
``2**(-(t0 - t) / h)`` without moving the reference, so the result does not
depend on arrival order.

>>> round(decay_factor(3600_000, 3600), 6)
0.5
>>> decay_factor(0, 3600)
1.0
"""

from __future__ import annotations

#: Half-lives of the activity counters, keyed by the suffix in feature names.
HALF_LIVES: dict[str, float] = {"1h": 3_600.0, "1d": 86_400.0, "7d": 604_800.0}


def decay_factor(elapsed_ms: int, half_life_s: float) -> float:
    """The factor by which a weight shrinks over ``elapsed_ms`` of event time."""
    return 2.0 ** (-(elapsed_ms / 1000.0) / half_life_s)
