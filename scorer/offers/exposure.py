"""Who is shown what, and what it earns: exposure and reward rate per segment and offer.

The fairness view (``GET /offers``, ``scorer_offer_*`` in Prometheus): for each
segment, how often each offer was chosen, and of the decisions resolved so far how
many were rewarded. A policy that learns can starve a segment of an offer; this is
where that shows.

>>> stats = ExposureStats()
>>> stats.decided("new", "free_shipping"); stats.decided("new", "free_shipping")
>>> stats.resolved("new", "free_shipping", 1.0)
>>> stats.table()["new"]["free_shipping"]
{'decisions': 2, 'share': 1.0, 'resolved': 1, 'rewarded': 1, 'reward_rate': 1.0}
"""

from __future__ import annotations

from collections import defaultdict

__all__ = ["ExposureStats"]


class ExposureStats:
    """Counters by (segment, offer): decisions, resolved decisions, rewarded decisions."""

    def __init__(self) -> None:
        self.decisions: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.resolved_n: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.rewarded: defaultdict[tuple[str, str], int] = defaultdict(int)

    def decided(self, segment: str, offer_id: str) -> None:
        self.decisions[segment, offer_id] += 1

    def resolved(self, segment: str, offer_id: str, reward: float) -> None:
        self.resolved_n[segment, offer_id] += 1
        if reward > 0:
            self.rewarded[segment, offer_id] += 1

    def table(self) -> dict[str, dict[str, dict[str, float | int]]]:
        """``{segment: {offer: {decisions, share, resolved, rewarded, reward_rate}}}``."""
        by_segment: defaultdict[str, int] = defaultdict(int)
        for (segment, _), n in self.decisions.items():
            by_segment[segment] += n
        out: dict[str, dict[str, dict[str, float | int]]] = {}
        for (segment, offer), n in sorted(self.decisions.items()):
            resolved = self.resolved_n.get((segment, offer), 0)
            rewarded = self.rewarded.get((segment, offer), 0)
            out.setdefault(segment, {})[offer] = {
                "decisions": n,
                "share": n / by_segment[segment],
                "resolved": resolved,
                "rewarded": rewarded,
                "reward_rate": rewarded / resolved if resolved else 0.0,
            }
        return out
