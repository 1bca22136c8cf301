"""Scoring a policy against a known response model: its reward beside the oracle, the best fixed offer and random.

Every decision the policy made is replayed for the baselines with the same draw
(common random numbers): the shown offer ``a`` is clicked when ``u < p(type, a)``,
for the policy and for each baseline alike, so the totals differ only by what was
chosen. The oracle knows every user's type and shows their best eligible offer;
uniform random draws among the eligible offers; the best fixed offer is the single
offer with the highest total in hindsight (shown wherever it is eligible, otherwise
the decision earns what random would).

>>> response = {"a": {"t1": 0.9, "t2": 0.0}, "b": {"t1": 0.0, "t2": 0.9}}
>>> tally = RewardTally(response, seed=0)
>>> for i in range(100):
...     _ = tally.add("t1" if i % 2 else "t2", ("a", "b"), "a" if i % 2 else "b", u=0.5)
>>> result = tally.result()
>>> result["reward"], result["oracle_reward"], result["best_fixed_reward"]
(100.0, 100.0, 50.0)
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

__all__ = ["RewardTally"]


class RewardTally:
    """Cumulative rewards of the policy and its three baselines over the same decisions."""

    def __init__(self, response: dict[str, dict[str, float]], seed: int = 0, curve_every: int = 500) -> None:
        self.response = response
        self._rng = random.Random(seed)
        self.curve_every = curve_every
        self.decisions = 0
        self.reward = 0.0
        self.oracle = 0.0
        self.random = 0.0
        self.expected = 0.0
        self.oracle_expected = 0.0
        # Per offer: what showing it at every decision would have earned (random where it is not eligible).
        self.fixed: defaultdict[str, float] = defaultdict(float)
        #: ``(decisions, policy, oracle, random)`` every ``curve_every`` decisions, for the regret plot.
        self.curve: list[tuple[int, float, float, float]] = []

    def add(self, user_type: str, eligible: tuple[str, ...], chosen: str, u: float) -> bool:
        """One decision and its draw ``u``; whether the policy's offer was clicked."""
        response = self.response
        p = {offer: response[offer][user_type] for offer in eligible}
        clicked = u < p[chosen]
        best = max(eligible, key=p.__getitem__)
        drawn = eligible[self._rng.randrange(len(eligible))]
        self.decisions += 1
        self.reward += clicked
        self.oracle += u < p[best]
        self.random += u < p[drawn]
        self.expected += p[chosen]
        self.oracle_expected += p[best]
        for offer in response:
            self.fixed[offer] += u < p.get(offer, p[drawn])
        if self.decisions % self.curve_every == 0:
            self.curve.append((self.decisions, self.reward, self.oracle, self.random))
        return clicked

    def result(self) -> dict[str, Any]:
        best_offer = max(self.fixed, key=self.fixed.__getitem__) if self.fixed else None
        return {
            "decisions": self.decisions,
            "reward": self.reward,
            "oracle_reward": self.oracle,
            "random_reward": self.random,
            "best_fixed_reward": self.fixed[best_offer] if best_offer else 0.0,
            "best_fixed_offer": best_offer,
            "share_of_oracle": self.reward / self.oracle if self.oracle else 0.0,
            "times_random": self.reward / self.random if self.random else 0.0,
            "expected_reward": self.expected,
            "oracle_expected_reward": self.oracle_expected,
            "fixed_rewards": dict(self.fixed),
        }
