"""A customer's purchase history, reduced to what buy-till-you-die models need.

Purchases are counted per period (a UTC day by default, as in the BG/NBD paper's
CDNOW analysis): several orders on one day are one transaction whose value is
their sum. The summary is ``x`` (repeat periods after the first), ``t_x`` and
``T`` (last purchase and age, from the first, in weeks) and the mean value of
the repeat periods.

Stored in the user's record as a short JSON list. Events can arrive out of order
within the lateness bound, so the last :data:`RECENT` distinct periods are kept
with their values: a late order on a day already counted adds to that day, one
on a new day inserts it, one before the first purchase makes the old first a
repeat. The summary is then exactly that of the events sorted by time, for any
order that keeps each event within :data:`RECENT` distinct purchase periods of
its place.

>>> h = PurchaseHistory()
>>> for day, value in [(0, 10.0), (3, 5.0), (3, 7.0), (14, 20.0)]:
...     h.add(day, value)
>>> h.summary(now_period=28)
(2, 2.0, 4.0, 16.0)
>>> late = PurchaseHistory()
>>> for day, value in [(3, 5.0), (14, 20.0), (0, 10.0), (3, 7.0)]:
...     late.add(day, value)
>>> late.summary(now_period=28) == h.summary(now_period=28)
True
>>> PurchaseHistory.from_fields(h.to_fields()).summary(28) == h.summary(28)
True
"""

from __future__ import annotations

import bisect

__all__ = ["DAY_MS", "PurchaseHistory", "RECENT"]

DAY_MS = 86_400_000
#: Distinct purchase periods kept one by one; older ones are kept as a count and a sum.
RECENT = 8


class PurchaseHistory:
    """Sufficient statistics of one customer's purchases, per period."""

    __slots__ = ("first", "first_value", "older", "older_value", "periods", "values")

    def __init__(self) -> None:
        #: The first purchase period (-1: none yet), and the value bought in it.
        self.first = -1
        self.first_value = 0.0
        #: Distinct periods that left the recent list (the first among them, if it left), and their total value.
        self.older = 0
        self.older_value = 0.0
        #: The most recent distinct purchase periods, ascending, and their values.
        self.periods: list[int] = []
        self.values: list[float] = []

    @property
    def empty(self) -> bool:
        return self.first < 0

    @property
    def last(self) -> int:
        """The latest purchase period."""
        return self.periods[-1]

    def add(self, period: int, value: float) -> None:
        """Fold in an order of ``value`` in ``period`` (any order of arrival)."""
        periods = self.periods
        was_first = period == self.first
        if self.first < 0 or period < self.first:
            self.first, self.first_value = period, value
        elif was_first:
            self.first_value += value
        i = bisect.bisect_left(periods, period)
        if i < len(periods) and periods[i] == period:
            self.values[i] += value
        elif i == 0 and self.older:
            # Older than every itemised period: only the first can still be recognised as
            # already counted; any other such day counts as new (beyond the lateness bound).
            if not was_first:
                self.older += 1
            self.older_value += value
        else:
            periods.insert(i, period)
            self.values.insert(i, value)
            if len(periods) > RECENT:
                self.older += 1
                self.older_value += self.values[0]
                del periods[0], self.values[0]

    def summary(self, now_period: int) -> tuple[int, float, float, float]:
        """``(x, t_x, T, mean repeat value)`` at ``now_period``; times in weeks."""
        count = self.older + len(self.periods)
        x = count - 1
        repeat_value = self.older_value + sum(self.values) - self.first_value
        mean = repeat_value / x if x > 0 else 0.0
        return x, (self.last - self.first) / 7.0, (max(now_period, self.last) - self.first) / 7.0, mean

    def to_fields(self) -> list:
        """The JSON-serialisable form kept in the user's record."""
        return [self.first, self.first_value, self.older, self.older_value, self.periods, self.values]

    @classmethod
    def from_fields(cls, fields: list) -> PurchaseHistory:
        history = cls()
        history.first, history.first_value, history.older, history.older_value = fields[0], fields[1], fields[2], fields[3]
        history.periods, history.values = list(fields[4]), list(fields[5])
        return history
