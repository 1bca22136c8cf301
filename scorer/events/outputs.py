"""What the scorer publishes: the output types and the exact bytes of each payload.

Each payload here has a JSON Schema beside it in ``schemas/`` (``propensity-score``,
``recommendation-list``); a test validates what these functions produce against them,
so the published contract and the code that writes it cannot drift apart.

>>> payload = score_payload(Score("u1", 0.25, "logreg", "logreg-a.3", "e1", 1_700_000_000_000, (("views_hl1h", 0.5),)), 1_700_000_000_012)
>>> payload.decode()
'{"user_id":"u1","score":0.25,"model":"logreg","model_version":"logreg-a.3","event_id":"e1","event_ts":1700000000000,"scored_at":1700000000012,"reasons":[{"feature":"views_hl1h","contribution":0.5}]}'
>>> list_payload(RecommendationList("u1", [("i2", 1.5)], "session_blend", "reco-1.2", "e1", 1_700_000_000_000), 1_700_000_000_013).decode()
'{"user_id":"u1","items":[{"item_id":"i2","score":1.5}],"strategy":"session_blend","model_version":"reco-1.2","event_id":"e1","event_ts":1700000000000,"scored_at":1700000000013}'
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = ["RecommendationList", "Score", "SegmentAssignment", "list_payload", "score_payload"]


@dataclass(slots=True, frozen=True)
class Score:
    """A propensity score for the user of the click that triggered it."""

    user_id: str
    score: float
    model: str
    model_version: str
    event_id: str
    event_ts: int
    #: The top feature contributions, largest first: ``((feature, contribution), ...)``.
    reasons: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True)
class RecommendationList:
    """A list built for a user after an event."""

    user_id: str
    items: list[tuple[str, float]]
    strategy: str
    model_version: str
    event_id: str
    event_ts: int


def score_payload(score: Score, scored_at_ms: int) -> bytes:
    """The JSON value published on the propensity topic."""
    return orjson.dumps(
        {
            "user_id": score.user_id,
            "score": score.score,
            "model": score.model,
            "model_version": score.model_version,
            "event_id": score.event_id,
            "event_ts": score.event_ts,
            "scored_at": scored_at_ms,
            "reasons": [{"feature": name, "contribution": value} for name, value in score.reasons],
        }
    )


def list_payload(built: RecommendationList, scored_at_ms: int) -> bytes:
    """The JSON value published on the recommendations topic."""
    return orjson.dumps(
        {
            "user_id": built.user_id,
            "items": [{"item_id": item, "score": score} for item, score in built.items],
            "strategy": built.strategy,
            "model_version": built.model_version,
            "event_id": built.event_id,
            "event_ts": built.event_ts,
            "scored_at": scored_at_ms,
        }
    )


@dataclass(slots=True, frozen=True)
class CustomerValue:
    """A customer's lifetime value over the horizon, as of their latest purchase (``scores.clv``).

    >>> CustomerValue("u1", 2.5, 80.0, 0.9, 365, 3, "clv-1.4", "e9", 1_700_000_000_000).payload(1_700_000_000_005).decode()
    '{"user_id":"u1","expected_purchases":2.5,"expected_spend":80.0,"p_alive":0.9,"horizon_days":365,"purchases":3,"model_version":"clv-1.4","event_id":"e9","event_ts":1700000000000,"scored_at":1700000000005}'
    """

    user_id: str
    expected_purchases: float
    expected_spend: float
    p_alive: float
    horizon_days: int
    #: Distinct purchase days so far (the first and every repeat).
    purchases: int
    model_version: str
    event_id: str
    event_ts: int

    def payload(self, scored_at_ms: int) -> bytes:
        """The JSON value published on the CLV topic."""
        return orjson.dumps(
            {
                "user_id": self.user_id,
                "expected_purchases": self.expected_purchases,
                "expected_spend": self.expected_spend,
                "p_alive": self.p_alive,
                "horizon_days": self.horizon_days,
                "purchases": self.purchases,
                "model_version": self.model_version,
                "event_id": self.event_id,
                "event_ts": self.event_ts,
                "scored_at": scored_at_ms,
            }
        )


@dataclass(slots=True, frozen=True)
class SegmentAssignment:
    """A user's segments after an update that changed one of them: RFM and behavioural cluster.

    >>> SegmentAssignment("u1", "loyal", 3, 4, 3, 2, "segments-w.9", "e1", 1_700_000_000_000).payload(1_700_000_000_005).decode()
    '{"user_id":"u1","rfm":{"segment":"loyal","r":3,"f":4,"m":3},"cluster":2,"model_version":"segments-w.9","event_id":"e1","event_ts":1700000000000,"published_at":1700000000005}'
    """

    user_id: str
    rfm_segment: str
    r: int
    f: int
    m: int
    #: ``None`` until the segment model's clusters have warmed up.
    cluster: int | None
    model_version: str
    event_id: str
    event_ts: int

    def payload(self, published_at_ms: int) -> bytes:
        """The JSON value published on the segments topic."""
        return orjson.dumps(
            {
                "user_id": self.user_id,
                "rfm": {"segment": self.rfm_segment, "r": self.r, "f": self.f, "m": self.m},
                "cluster": self.cluster,
                "model_version": self.model_version,
                "event_id": self.event_id,
                "event_ts": self.event_ts,
                "published_at": published_at_ms,
            }
        )


@dataclass(slots=True, frozen=True)
class OfferDecision:
    """The offer chosen for a user, with the probability the policy gave it (``scores.offers``).

    >>> OfferDecision("d-1", "u1", "free_shipping", 0.92, "linucb", "offers-a.7", "customer", "exploit", 4, "e9", 1_700_000_000_000).payload(1_700_000_000_004).decode()
    '{"decision_id":"d-1","user_id":"u1","offer_id":"free_shipping","propensity":0.92,"policy":"linucb","policy_version":"offers-a.7","reasons":{"choice":"exploit","segment":"customer","eligible":4},"event_id":"e9","event_ts":1700000000000,"decided_at":1700000000004}'
    """

    decision_id: str
    user_id: str
    offer_id: str
    #: The policy's probability of this offer in this context (the logged propensity).
    propensity: float
    policy: str
    policy_version: str
    segment: str
    #: ``exploit`` (the bandit's own choice) or ``explore`` (drawn by the exploration floor).
    choice: str
    #: How many offers the user was eligible for.
    eligible: int
    #: The trigger event, or ``request:<ms>`` for a decision asked for over HTTP.
    event_id: str
    event_ts: int

    def payload(self, decided_at_ms: int) -> bytes:
        """The JSON value published on the offers decision topic."""
        return orjson.dumps(
            {
                "decision_id": self.decision_id,
                "user_id": self.user_id,
                "offer_id": self.offer_id,
                "propensity": self.propensity,
                "policy": self.policy,
                "policy_version": self.policy_version,
                "reasons": {"choice": self.choice, "segment": self.segment, "eligible": self.eligible},
                "event_id": self.event_id,
                "event_ts": self.event_ts,
                "decided_at": decided_at_ms,
            }
        )
