"""The bandit that chooses an offer, with an exploration floor and the logged propensity.

A River bandit proposes the offer it rates best for the context; the floor then
mixes in a uniform choice: with probability ``floor`` the offer is drawn uniformly
from the eligible ones. So every eligible offer keeps at least ``floor / K`` of the
traffic (the policy keeps learning about offers it rates low, and a drifted offer
can come back), and the probability of each choice is known exactly:

    p(a) = (1 - floor) * pi(a) + floor / K

where ``pi(a)`` is the policy's own probability of ``a`` (1 for the proposal and 0
for the rest, except for ``hts`` with ``draw="thompson"``), which is what a decision
logs as ``propensity``, for off-policy evaluation later. The draws come from the
decision id (a digest of user and event), so a replay of the same events draws the
same numbers.

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
``hts``
    Hierarchical: each user's own impressions and clicks of each offer on top of a
    shared Beta prior of ``strength`` pseudo-impressions (never more than the
    evidence behind it), centred on the offer's click rate for this context
    (``prior="context"``: the mean of the ``linucb`` regression), in the user's
    segment (``"segment"``) or overall (``"population"``). ``draw="mean"`` proposes the
    best posterior mean; ``draw="thompson"`` is hierarchical Thompson sampling, the
    offer chosen with the probability that its posterior draw is the largest,
    *computed* by quadrature (:func:`win_probabilities`) and drawn by inverse CDF
    from the decision's own uniform, so the logged propensity is that exact
    probability mixed with the floor. The per-user counts are per-user state:
    :meth:`OfferPolicy.forget_user` drops them on erasure.

>>> policy = OfferPolicy("linucb", floor=0.1)
>>> offer, propensity = policy.choose(("a", "b"), {"bias": 1.0}, "new", 0.5, 0.5)
>>> offer in ("a", "b"), round(propensity, 6) in (0.05, 0.95)
(True, True)
>>> policy.choose(("a",), {"bias": 1.0}, "new", 0.01, 0.0)
('a', 1.0)
>>> hts = OfferPolicy("hts", floor=0.1, prior="population", draw="thompson")
>>> for _ in range(30):
...     hts.learn("a", {"bias": 1.0}, "new", 1.0, user="u1")
>>> p = hts.probabilities(("a", "b"), {"bias": 1.0}, "new", user="u1")
>>> round(p["a"] + p["b"], 6), p["a"] > 0.9, hts.choose(("a", "b"), {"bias": 1.0}, "new", 0.5, 0.3, user="u1") == ("a", p["a"])
(1.0, True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from river import bandit, linear_model, proba

__all__ = ["HTS_DRAWS", "HTS_PRIORS", "POLICIES", "OfferPolicy", "win_probabilities"]

POLICIES = ("linucb", "epsilon", "thompson", "hts")
HTS_PRIORS = ("context", "segment", "population")
HTS_DRAWS = ("mean", "thompson")

#: Grid cells of the quadrature that gives ``hts`` with Thompson draws its choice probabilities.
_GRID = 1024
#: ``hts``: pseudo-impressions of the overall rate that a segment's rate is shrunk toward.
_SEGMENT_SHRINK = 50.0
#: ``hts`` with the context prior: the regression's mean click rate is kept in this range.
_RATE_RANGE = (0.005, 0.5)


def win_probabilities(alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """P(draw i is the largest) for independent Beta(alphas[i], betas[i]) draws, by quadrature.

    The densities are tabulated on a grid of midpoints over the range that holds
    their mass (means +- 10 standard deviations), each normalised to one over the
    grid; ``P(i wins) = sum_x f_i(x) * prod_{j != i} F_j(x)`` with ``F_j`` taken at
    the middle of each cell (a tie inside a cell counts half).

    >>> [round(float(v), 6) for v in win_probabilities(np.array([2.0, 2.0]), np.array([2.0, 2.0]))]
    [0.5, 0.5]
    >>> round(float(win_probabilities(np.array([30.0, 10.0]), np.array([10.0, 30.0]))[0]), 4)
    1.0
    """
    a, b = np.asarray(alphas, dtype=float), np.asarray(betas, dtype=float)
    total = a + b
    mean = a / total
    sd = np.sqrt(a * b / (total * total * (total + 1.0)))
    lo = max(float(np.min(mean - 10.0 * sd)), 0.0)
    hi = min(float(np.max(mean + 10.0 * sd)), 1.0)
    x = lo + (np.arange(_GRID) + 0.5) * ((hi - lo) / _GRID)
    log_f = (a - 1.0)[:, None] * np.log(x)[None, :] + (b - 1.0)[:, None] * np.log1p(-x)[None, :]
    f = np.exp(log_f - log_f.max(axis=1, keepdims=True))
    f /= f.sum(axis=1, keepdims=True)
    cdf = np.cumsum(f, axis=1) - 0.5 * f
    wins = np.array([float(np.dot(f[i], np.prod(np.delete(cdf, i, axis=0), axis=0))) for i in range(len(a))])
    return wins / wins.sum()


def _segment_policy(kind: str, seed: int) -> Any:
    if kind == "epsilon":
        return bandit.EpsilonGreedy(epsilon=0.0, seed=seed)
    return bandit.ThompsonSampling(reward_obj=proba.Beta(), seed=seed)


class OfferPolicy:
    """A bandit over the eligible offers, its choice mixed with a uniform floor."""

    def __init__(
        self,
        kind: str = "linucb",
        floor: float = 0.1,
        seed: int = 0,
        alpha: float = 1.0,
        strength: float = 150.0,
        prior: str = "context",
        draw: str = "mean",
    ) -> None:
        if kind not in POLICIES:
            raise ValueError(f"unknown offers policy {kind!r}; choose one of {', '.join(POLICIES)}")
        if not 0.0 < floor <= 1.0:
            raise ValueError("the exploration floor must be in (0, 1]")
        if strength <= 0 or prior not in HTS_PRIORS or draw not in HTS_DRAWS:
            raise ValueError(f"hts: strength must be positive, prior one of {', '.join(HTS_PRIORS)}, draw one of {', '.join(HTS_DRAWS)}")
        self.kind = kind
        self.floor = floor
        self.seed = seed
        self.updates = 0
        self.alpha = alpha
        self.strength = strength
        self.prior = prior
        self.draw = draw
        #: Per offer, the reward regression of ``linucb`` (and of ``hts`` with the context prior).
        self._regressions: dict[str, linear_model.BayesianLinearRegression] = {}
        self._by_segment: dict[str, Any] = {}
        #: ``hts``: impressions and clicks per ``(segment, offer)``, ``("", offer)`` overall.
        self._shared: dict[tuple[str, str], list[float]] = {}
        #: ``hts``: impressions and clicks per user and offer (per-user state, see :meth:`forget_user`).
        self._users: dict[str, dict[str, list[float]]] = {}

    def propose(self, eligible: tuple[str, ...], context: dict[str, float], segment: str) -> str:
        """The offer the bandit rates best for this context (before the floor; not for ``hts``)."""
        if self.kind != "linucb":
            return self._for(segment).pull(list(eligible))
        best, best_bound = eligible[0], -float("inf")
        for offer in eligible:
            dist = self._regression(offer).predict_one(context, with_dist=True)
            bound = dist.mu + dist.sigma
            if bound > best_bound:
                best, best_bound = offer, bound
        return best

    def shares(self, eligible: tuple[str, ...], context: dict[str, float], segment: str, user: str | None = None) -> list[float]:
        """The policy's probability of each eligible offer before the floor."""
        if self.kind == "hts":
            return self._hts(eligible, context, segment, user)
        proposal = self.propose(eligible, context, segment)
        return [1.0 if offer == proposal else 0.0 for offer in eligible]

    def choose(
        self,
        eligible: tuple[str, ...],
        context: dict[str, float],
        segment: str,
        u_explore: float,
        u_pick: float,
        user: str | None = None,
    ) -> tuple[str, float]:
        """One decision among ``eligible`` (non-empty) and its probability under the policy.

        ``u_explore`` and ``u_pick`` are uniform draws in [0, 1): below the floor,
        ``u_pick`` draws uniformly; otherwise it draws from the policy's own shares.
        """
        k = len(eligible)
        if k == 1:
            return eligible[0], 1.0
        shares = self.shares(eligible, context, segment, user)
        if u_explore < self.floor:
            index = min(int(u_pick * k), k - 1)
        else:
            index, cumulative = max(i for i, share in enumerate(shares) if share > 0.0), 0.0
            for i, share in enumerate(shares):
                cumulative += share
                if u_pick < cumulative:
                    index = i
                    break
        return eligible[index], (1.0 - self.floor) * shares[index] + self.floor / k

    def probabilities(
        self, eligible: tuple[str, ...], context: dict[str, float], segment: str, user: str | None = None
    ) -> dict[str, float]:
        """The policy's probability of each eligible offer (for off-policy evaluation)."""
        k = len(eligible)
        if k == 1:
            return {eligible[0]: 1.0}
        shares = self.shares(eligible, context, segment, user)
        return {offer: (1.0 - self.floor) * share + self.floor / k for offer, share in zip(eligible, shares)}

    def learn(self, offer_id: str, context: dict[str, float], segment: str, reward: float, user: str | None = None) -> None:
        """A resolved decision: ``reward`` for ``offer_id`` shown to ``user`` in ``context``."""
        self.updates += 1
        if self.kind == "hts":
            for counts in (
                self._shared.setdefault(("", offer_id), [0.0, 0.0]),
                self._shared.setdefault((segment, offer_id), [0.0, 0.0]),
                *((self._users.setdefault(user, {}).setdefault(offer_id, [0.0, 0.0]),) if user is not None else ()),
            ):
                counts[0] += 1.0
                counts[1] += reward
            if self.prior != "context":
                return
        if self.kind in ("linucb", "hts"):
            self._regression(offer_id).learn_one(context, reward)
        else:
            self._for(segment).update(offer_id, reward)

    def forget_user(self, user: str) -> None:
        """Drop an erased user's own counts (``hts``); the shared counts and regressions keep no user."""
        self._users.pop(user, None)

    def user_counts(self, user: str) -> dict[str, tuple[float, float]]:
        """``hts``: the user's impressions and clicks per offer (empty when none, or forgotten)."""
        return {offer: (n, c) for offer, (n, c) in self._users.get(user, {}).items()}

    def _hts(self, eligible: tuple[str, ...], context: dict[str, float], segment: str, user: str | None) -> list[float]:
        own = self._users.get(user, {}) if user is not None else {}
        alphas, betas = np.empty(len(eligible)), np.empty(len(eligible))
        for i, offer in enumerate(eligible):
            n_all, c_all = self._shared.get(("", offer), (0.0, 0.0))
            rate, weight = (c_all + 0.5) / (n_all + 1.0), n_all
            if self.prior == "context":
                regression = self._regressions.get(offer)
                if regression is not None and n_all > 0:
                    rate = min(max(float(regression.predict_one(context)), _RATE_RANGE[0]), _RATE_RANGE[1])
            elif self.prior == "segment":
                n_seg, c_seg = self._shared.get((segment, offer), (0.0, 0.0))
                rate = (c_seg + _SEGMENT_SHRINK * rate) / (n_seg + _SEGMENT_SHRINK)
                weight = n_seg + min(n_all, _SEGMENT_SHRINK)
            pseudo = min(self.strength, weight + 2.0)
            n_own, c_own = own.get(offer, (0.0, 0.0))
            alphas[i] = pseudo * rate + c_own
            betas[i] = pseudo * (1.0 - rate) + n_own - c_own
        if self.draw == "thompson":
            return [float(p) for p in win_probabilities(alphas, betas)]
        best = int(np.argmax(alphas / (alphas + betas)))  # ties: the first in catalogue order
        return [1.0 if i == best else 0.0 for i in range(len(eligible))]

    def _regression(self, offer: str) -> linear_model.BayesianLinearRegression:
        regression = self._regressions.get(offer)
        if regression is None:
            regression = self._regressions[offer] = linear_model.BayesianLinearRegression(alpha=self.alpha)
        return regression

    def _for(self, segment: str) -> Any:
        found = self._by_segment.get(segment)
        if found is None:
            found = self._by_segment[segment] = _segment_policy(self.kind, self.seed)
        return found
