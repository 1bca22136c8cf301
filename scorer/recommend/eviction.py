"""Which items a bounded, decaying model forgets: the least used, and the decayed to nothing.

Co-occurrence and popularity both keep a decayed count per item and a cap on items;
they forget by the same two rules, here once.

>>> counts = {"a": 5.0, "b": 0.5, "c": 2.0, "d": 1e-9}
>>> least_used(counts, keep=2), decayed_away(counts)
(['b', 'd'], ['d'])
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["FORGET_BELOW", "decayed_away", "least_used"]

#: A decayed count below this is noise: the item is forgotten rather than kept at ~0.
FORGET_BELOW = 1e-6


def least_used(counts: Mapping[str, float], keep: int) -> list[str]:
    """The items beyond the ``keep`` with the largest counts, most used first."""
    if len(counts) <= keep:
        return []
    return sorted(counts, key=counts.__getitem__, reverse=True)[keep:]


def decayed_away(counts: Mapping[str, float]) -> list[str]:
    """The items whose decayed count fell below :data:`FORGET_BELOW`."""
    return [item for item, count in counts.items() if count < FORGET_BELOW]
