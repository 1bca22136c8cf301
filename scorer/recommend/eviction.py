"""Which items a bounded, decaying model forgets: the least used, and the decayed to nothing.

Co-occurrence and popularity both keep a decayed count per item and a cap on items;
they forget by the same two rules, here once. Co-occurrence and the sequential rules
both keep rows of decayed weights and rescale them the same way (:func:`rescale_rows`).

>>> counts = {"a": 5.0, "b": 0.5, "c": 2.0, "d": 1e-9}
>>> least_used(counts, keep=2), decayed_away(counts)
(['b', 'd'], ['d'])
>>> rows = {"a": {"b": 1.0, "c": 1e-6}, "d": {"e": 1e-6}}
>>> rescale_rows(rows, 0.5); rows
{'a': {'b': 0.5}}
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, MutableMapping

__all__ = ["FORGET_BELOW", "decayed_away", "least_used", "rescale_rows"]

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


def rescale_rows(rows: MutableMapping[Hashable, dict[str, float]], factor: float) -> None:
    """Multiply every weight of every row by ``factor``, in place, dropping what falls below
    :data:`FORGET_BELOW` and rows left empty (the order of the rows that stay is kept)."""
    for key, row in list(rows.items()):
        kept = {item: weight * factor for item, weight in row.items() if weight * factor >= FORGET_BELOW}
        if kept:
            rows[key] = kept
        else:
            del rows[key]
