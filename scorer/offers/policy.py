"""The bandit that chooses an offer, with an exploration floor and the logged propensity.

A River bandit proposes the offer it rates best for the context; the floor then
mixes in a uniform choice: with probability ``floor`` the offer is drawn uniformly
from the eligible ones. So every eligible offer keeps at least ``floor / K`` of the
traffic (the policy keeps learning about offers it rates low, and a drifted offer
can come back), and the probability of each choice is known exactly:

    p(a) = (1 - floor) * [a is the proposal] + floor / K

which is what a decision logs as ``propensity``, for off-policy evaluation later.
The draws come from the decision id (a digest of user and event), so a replay of
the same events draws the same numbers.

Policies (``SCORER_OFFERS_POLICY``):

``linucb``
    The rule of ``river.bandit.LinUCBDisjoint``: one River
    ``BayesianLinearRegression`` of the reward on the context per offer, the offer
    with the highest upper bound (mean plus one standard deviation) proposed. River's
    class breaks ties with a random draw of its own, which would make the logged
    propensity wrong whenever offers tie (every fresh offer does); here ties go to
    the first offer in catalogue order, so the proposal is a function of the state.
``epsilon``
    ``river.bandit.EpsilonGreedy`` per segment (River's own epsilon at 0: the floor
    is the exploration), the offer with the best mean reward in the user's segment.
``thompson``
    ``river.bandit.ThompsonSampling`` (Beta posteriors) per segment.  Its proposal is
    random, so the logged propensity is the floor-mixed probability *given* the
    proposal, which understates the spread of the choice: do not use its log for
    off-policy evaluation.

>>> policy = OfferPolicy("linucb", floor=0.1)
>>> offer, propensity = policy.choose(("a", "b"), {"bias": 1.0}, "new", 0.5, 0.5)
>>> offer in ("a", "b"), round(propensity, 6) in (0.05, 0.95)
(True, True)
>>> policy.choose(("a",), {"bias": 1.0}, "new", 0.01, 0.0)
('a', 1.0)
"""

from __future__ import annotations

from typing import Any

from river import bandit, linear_model, proba

__all__ = ["POLICIES", "OfferPolicy"]

POLICIES = ("linucb", "epsilon", "thompson")


def _segment_policy(kind: str, seed: int) -> Any:
    if kind == "epsilon":
        return bandit.EpsilonGreedy(epsilon=0.0, seed=seed)
    return bandit.ThompsonSampling(reward_obj=proba.Beta(), seed=seed)


class OfferPolicy:
    """A River bandit over the eligible offers, its proposal mixed with a uniform floor."""

    def __init__(self, kind: str = "linucb", floor: float = 0.1, seed: int = 0, alpha: float = 1.0) -> None:
        if kind not in POLICIES:
            raise ValueError(f"unknown offers policy {kind!r}; choose one of {', '.join(POLICIES)}")
        if not 0.0 < floor <= 1.0:
            raise ValueError("the exploration floor must be in (0, 1]")
        self.kind = kind
        self.floor = floor
        self.seed = seed
        self.updates = 0
        self.alpha = alpha
        #: Per offer, the reward regression of ``linucb``.
        self._regressions: dict[str, linear_model.BayesianLinearRegression] = {}
        self._by_segment: dict[str, Any] = {}

    def propose(self, eligible: tuple[str, ...], context: dict[str, float], segment: str) -> str:
        """The offer the bandit rates best for this context (before the floor)."""
        if self.kind != "linucb":
            return self._for(segment).pull(list(eligible))
        best, best_bound = eligible[0], -float("inf")
        for offer in eligible:
            regression = self._regressions.get(offer)
            if regression is None:
                regression = self._regressions[offer] = linear_model.BayesianLinearRegression(alpha=self.alpha)
            dist = regression.predict_one(context, with_dist=True)
            bound = dist.mu + dist.sigma
            if bound > best_bound:
                best, best_bound = offer, bound
        return best

    def choose(
        self, eligible: tuple[str, ...], context: dict[str, float], segment: str, u_explore: float, u_pick: float
    ) -> tuple[str, float]:
        """One decision among ``eligible`` (non-empty) and its probability under the policy.

        ``u_explore`` and ``u_pick`` are uniform draws in [0, 1).
        """
        k = len(eligible)
        if k == 1:
            return eligible[0], 1.0
        proposal = self.propose(eligible, context, segment)
        if u_explore < self.floor:
            chosen = eligible[min(int(u_pick * k), k - 1)]
        else:
            chosen = proposal
        share = self.floor / k
        return chosen, (1.0 - self.floor + share) if chosen == proposal else share

    def probabilities(self, eligible: tuple[str, ...], context: dict[str, float], segment: str) -> dict[str, float]:
        """The policy's probability of each eligible offer (for off-policy evaluation)."""
        k = len(eligible)
        proposal = self.propose(eligible, context, segment)
        share = self.floor / k
        return {offer: (1.0 - self.floor + share) if offer == proposal else share for offer in eligible}

    def learn(self, offer_id: str, context: dict[str, float], segment: str, reward: float) -> None:
        """A resolved decision: ``reward`` for ``offer_id`` shown in ``context``."""
        self.updates += 1
        if self.kind == "linucb":
            regression = self._regressions.get(offer_id)
            if regression is None:
                regression = self._regressions[offer_id] = linear_model.BayesianLinearRegression(alpha=self.alpha)
            regression.learn_one(context, reward)
        else:
            self._for(segment).update(offer_id, reward)

    def _for(self, segment: str) -> Any:
        found = self._by_segment.get(segment)
        if found is None:
            found = self._by_segment[segment] = _segment_policy(self.kind, self.seed)
        return found
