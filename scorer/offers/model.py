"""Next-best offer, the per-user model the engine runs: decide on trigger events, learn when windows close.

On a trigger event (``product_view`` by default) of a user who has not had a
decision in the last ``min_interval_ms`` of event time (the frequency cap), the
policy chooses among the offers the user is eligible for, using their features and
segment as context, and the decision is published. The decision then waits for its
reward (:mod:`scorer.offers.rewards`): feedback from the ``offers.feedback`` topic
(:meth:`OfferModel.feedback`) and the user's purchases, both within the conversion
window; the policy learns it when the window has closed in event time. Other events
cost one type check and a look at the earliest deadline. An empty catalogue makes
no decision at all. Opted-out users never reach ``observe`` (the engine skips them),
and :meth:`forget_user` drops an erased user's pending decisions.

>>> from scorer.offers.catalogue import Catalogue, Offer
>>> from scorer.events import ClickEvent
>>> class State:  # what the engine hands over: the user's feature state
...     def to_x(self, event):
...         return {"sessions_total": 1.0}
>>> model = OfferModel(Catalogue([Offer("a"), Offer("b")]), OfferPolicy("linucb"), window_ms=60_000)
>>> view = ClickEvent("e1", "u1", 1_000, "product_view", item_id="i1")
>>> fields, decision = model.observe(None, view, State())
>>> decision.offer_id in ("a", "b"), decision.segment, fields[0]
(True, 'new', 1000)
>>> model.feedback(decision.decision_id, "click", 30_000)
'joined'
>>> model.observe(fields, ClickEvent("e2", "u1", 200_000, "page_view"), State())[1] is None
True
>>> model.resolved, model.rewarded
(1, 1)
"""

from __future__ import annotations

import base64
import hashlib
import pickle
import zlib
from typing import Any

from scorer.events import OfferDecision, PurchaseEvent
from scorer.offers.catalogue import Catalogue
from scorer.offers.context import context_of, segment_of
from scorer.offers.exposure import ExposureStats
from scorer.offers.policy import OfferPolicy
from scorer.offers.rewards import Pending, RewardJoin

__all__ = ["DEFAULT_TRIGGERS", "OfferModel", "draws"]

DEFAULT_TRIGGERS = frozenset({"product_view"})

_SCALE = 1.0 / 2**32


def draws(user_id: str, event_id: str) -> tuple[str, float, float]:
    """The decision id and two uniform draws, all from a digest of user and event.

    >>> draws("u1", "e1") == draws("u1", "e1"), draws("u1", "e1")[0] != draws("u1", "e2")[0]
    (True, True)
    """
    digest = hashlib.blake2b(f"{user_id}\x1f{event_id}".encode(), digest_size=16).digest()
    return (
        "d-" + digest[:8].hex(),
        int.from_bytes(digest[8:12], "big") * _SCALE,
        int.from_bytes(digest[12:16], "big") * _SCALE,
    )


class OfferModel:
    """Decisions on trigger events and on request; rewards joined in event time; exposure by segment."""

    name = "offers"

    def __init__(
        self,
        catalogue: Catalogue,
        policy: OfferPolicy,
        window_ms: int = 1_800_000,
        triggers: frozenset[str] = DEFAULT_TRIGGERS,
        min_interval_ms: int = 0,
        purchase_reward: bool = True,
        lineage: str = "offers",
    ) -> None:
        self.catalogue = catalogue
        self.policy = policy
        self.join = RewardJoin(window_ms, purchase_reward)
        self.triggers = triggers
        self.min_interval_ms = min_interval_ms
        self.lineage = lineage
        self.exposure = ExposureStats()
        self.decisions = 0
        self.resolved = 0
        self.rewarded = 0
        self.capped = 0
        self.forgotten = 0

    @property
    def version(self) -> str:
        return f"{self.lineage}.{self.policy.updates}"

    def observe(self, fields: Any, event: Any, state: Any) -> tuple[Any, OfferDecision | None]:
        ts = event.ts
        if ts > self.join.clock:
            self.advance(ts)
        if isinstance(event, PurchaseEvent):
            self.join.purchase(event.user_id, ts)
            return fields, None
        if event.type not in self.triggers or not len(self.catalogue):
            return fields, None
        if fields and self.min_interval_ms and ts - fields[0] < self.min_interval_ms:
            self.capped += 1
            return fields, None
        decision = self.decide(event.user_id, event.event_id, ts, event.category, state.to_x(event))
        if decision is None:
            return fields, None
        return [ts, decision.decision_id, decision.offer_id], decision

    def decide(self, user_id: str, event_id: str, ts: int, category: str | None, x: dict[str, float]) -> OfferDecision | None:
        """Choose an offer for the user now; None when none is eligible."""
        segment = segment_of(x)
        eligible = self.catalogue.eligible(category, segment)
        if not eligible:
            return None
        context = context_of(x, segment)
        decision_id, u_explore, u_pick = draws(user_id, event_id)
        offer_id, propensity = self.policy.choose(eligible, context, segment, u_explore, u_pick)
        choice = "explore" if len(eligible) > 1 and u_explore < self.policy.floor else "exploit"
        self.join.add(Pending(decision_id, user_id, offer_id, segment, ts, context, propensity))
        self.exposure.decided(segment, offer_id)
        self.decisions += 1
        return OfferDecision(
            decision_id, user_id, offer_id, propensity, self.policy.kind, self.version, segment, choice, len(eligible), event_id, ts
        )

    def feedback(self, decision_id: str, kind: str, ts: int) -> str:
        """An impression or click from ``offers.feedback``: ``joined``, ``late`` or ``unknown``."""
        outcome = self.join.feedback(decision_id, kind, ts)
        if ts > self.join.clock:
            self.advance(ts)
        return outcome

    def advance(self, now_ms: int) -> int:
        """Move event time on; learn every decision whose window closed. How many resolved."""
        resolved = self.join.advance(now_ms)
        for pending, reward in resolved:
            self.policy.learn(pending.offer_id, pending.context, pending.segment, reward)
            self.exposure.resolved(pending.segment, pending.offer_id, reward)
            self.resolved += 1
            if reward > 0:
                self.rewarded += 1
        return len(resolved)

    def forget_user(self, user_id: str) -> None:
        self.forgotten += self.join.forget_user(user_id)

    def to_state(self) -> dict[str, Any]:
        """The policy and the counters, JSON-ready, for the worker's sealed model snapshot.

        The policy is River objects (a regression per offer, or a bandit per segment, with
        their random generators), so it travels as a pickle, base64 inside the snapshot:
        the snapshot's tag covers it and is checked before anything is decoded, as for the
        propensity model. Pending decisions are not saved: their feedback is read by the
        owner of each user's partition, which after a restart or a rebalance may be
        another worker; a restart loses at most one window of rewards.
        """
        exposure = self.exposure
        return {
            "kind": self.policy.kind,
            "policy": base64.b64encode(zlib.compress(pickle.dumps(self.policy, protocol=pickle.HIGHEST_PROTOCOL), 1)).decode(),
            "counters": [self.decisions, self.resolved, self.rewarded, self.capped],
            # Event time: decisions made after a restart resolve when their window has closed on it.
            "clock": self.join.clock,
            "exposure": [
                [segment, offer, n, exposure.resolved_n.get((segment, offer), 0), exposure.rewarded.get((segment, offer), 0)]
                for (segment, offer), n in exposure.decisions.items()
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`to_state`'s output; ``state`` must come from an authenticated snapshot.

        A policy of another kind than this worker's (``SCORER_OFFERS_POLICY`` changed) is
        not loaded: the new bandit starts fresh. The floor stays this worker's setting.
        """
        if state.get("kind") != self.policy.kind:
            return
        policy = pickle.loads(zlib.decompress(base64.b64decode(state["policy"])))  # noqa: S301 (authenticated, see above)
        policy.floor = self.policy.floor
        self.policy = policy
        self.decisions, self.resolved, self.rewarded, self.capped = (int(n) for n in state["counters"])
        self.join.clock = max(self.join.clock, int(state["clock"]))
        self.exposure = ExposureStats()
        for segment, offer, n, resolved, rewarded in state["exposure"]:
            self.exposure.decisions[segment, offer] = int(n)
            if resolved:
                self.exposure.resolved_n[segment, offer] = int(resolved)
            if rewarded:
                self.exposure.rewarded[segment, offer] = int(rewarded)

    def describe(self, fields: Any) -> dict:
        last_ts, decision_id, offer_id = fields
        return {"last_decision": {"decision_id": decision_id, "offer_id": offer_id, "event_ts": last_ts}, "policy_version": self.version}

    def summary(self) -> dict[str, Any]:
        """The fairness view of ``GET /offers``: the catalogue, the policy, exposure and reward by segment."""
        return {
            "offers": [offer.as_dict() for offer in self.catalogue.offers.values()],
            "policy": self.policy.kind,
            "policy_version": self.version,
            "exploration_floor": self.policy.floor,
            "decisions": self.decisions,
            "pending": len(self.join),
            "resolved": self.resolved,
            "rewarded": self.rewarded,
            "capped": self.capped,
            "late_feedback": self.join.late,
            "unknown_feedback": self.join.unknown,
            "by_segment": self.exposure.table(),
        }
