"""Exponential decay in event time by forward decay (Cormode et al., ICDE 2009).

Instead of shrinking every stored weight whenever time moves on, an event at
``ts`` adds ``2**((ts - landmark) / half_life)``: weights grow with time and
are never touched again. Seen from the latest time ``now`` every stored value
is worth ``stored * 2**(-(now - landmark) / half_life)``, one factor common to
all of them, so rankings need no decay at all and one multiply gives the true
decayed value. Before the growth gets near float overflow the landmark moves
forward and the owner rescales what it stores (:meth:`ForwardDecay.advance`
returns the factor), an amortised O(1) cost per event.

A late event simply adds its own smaller weight, so values do not depend on
arrival order.

>>> clock = ForwardDecay(half_life_s=3600)
>>> clock.advance(0)
>>> stored = clock.weight(0)
>>> clock.advance(3_600_000)
>>> clock.value(stored)
0.5
>>> clock.value(stored + clock.weight(3_600_000))
1.5
"""

from __future__ import annotations

#: Half-lives after which the landmark moves: ``2**48`` is far from overflow
#: even for a weight summed over billions of events, and far from the
#: precision loss that would make small weights vanish against large ones.
REBASE_AFTER_HALF_LIVES = 48.0


class ForwardDecay:
    """The landmark and latest event time of one exponentially decayed family of weights."""

    __slots__ = ("half_life_ms", "landmark", "now")

    def __init__(self, half_life_s: float) -> None:
        if half_life_s <= 0:
            raise ValueError("half_life_s must be positive")
        self.half_life_ms = half_life_s * 1000.0
        self.landmark: int | None = None
        self.now = 0

    def advance(self, ts: int) -> float | None:
        """Move ``now`` forward to ``ts``.

        Returns None, or the factor by which the owner must multiply every
        stored weight because the landmark moved to ``ts``.
        """
        if self.landmark is None:
            self.landmark = self.now = ts
            return None
        if ts <= self.now:
            return None
        self.now = ts
        if (ts - self.landmark) / self.half_life_ms < REBASE_AFTER_HALF_LIVES:
            return None
        factor = 2.0 ** (-(ts - self.landmark) / self.half_life_ms)
        self.landmark = ts
        return factor

    def weight(self, ts: int) -> float:
        """What an event at ``ts`` adds to a stored weight."""
        landmark = self.landmark if self.landmark is not None else ts
        return 2.0 ** ((ts - landmark) / self.half_life_ms)

    def scale(self) -> float:
        """Factor from stored weights to their decayed value at ``now``."""
        landmark = self.landmark if self.landmark is not None else self.now
        return 2.0 ** (-(self.now - landmark) / self.half_life_ms)

    def value(self, stored: float) -> float:
        """The decayed value, at ``now``, of a stored weight."""
        return stored * self.scale()
