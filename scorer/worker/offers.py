"""Next-best offer at the edge: the catalogue and the feedback topics, and the exposure metrics.

Neither input rides the per-partition aligned path. The catalogue (compacted, keyed
by offer id) is small and every worker needs all of it: it is read whole, from the
start, on every partition. Feedback is keyed by user like the inputs, but a decision
is pending only on the worker that owns its user's partition, so each worker reads
every feedback partition and keeps the records of its own users (the Kafka key's
partition), leaving the rest to their owners. Feedback for a decision that is not
pending here is dead-lettered (``unknown_decision``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Gauge

from scorer.events import InvalidEvent, partition_for
from scorer.offers import InvalidOffer, OfferModel, decode_feedback, decode_offer
from scorer.worker.wiring import user_model

__all__ = ["OfferExposure", "OfferInputs", "offer_on_request"]

log = logging.getLogger(__name__)

DeadLetter = Callable[[str, int, int, bytes | None, bytes | None, str, str], None]


class OfferInputs:
    """Applies catalogue records and feedback messages to the worker's offer model."""

    def __init__(self, model: OfferModel, partitions: int, owned: Callable[[], set[int]], dead_letter: DeadLetter) -> None:
        self.model = model
        self.partitions = partitions
        self.owned = owned
        self.dead_letter = dead_letter
        self.outcomes: dict[str, int] = {}

    def catalogue(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the ``offers`` topic: an entry, or a tombstone under the offer's id."""
        if value is None:
            if key is not None:
                self.model.catalogue.remove(key.decode("utf-8", "replace"))
            return
        try:
            self.model.catalogue.apply(decode_offer(value))
        except InvalidOffer as exc:
            log.warning("offer catalogue: skipped an invalid entry (key %r): %s", key, exc)

    def feedback(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> str:
        """One record of ``offers.feedback``: ``joined``, ``late``, ``elsewhere`` (another worker's user) or a dead letter."""
        if key is not None and partition_for(key, self.partitions) not in self.owned():
            return self._count("elsewhere")
        try:
            if value is None:
                raise InvalidEvent("missing_value", "feedback needs a value")
            found = decode_feedback(value)
        except InvalidEvent as exc:
            self.dead_letter(topic, partition, offset, key, value, exc.reason, str(exc))
            return self._count(exc.reason)
        outcome = self.model.feedback(found.decision_id, found.kind, found.ts)
        if outcome == "unknown":
            self.dead_letter(topic, partition, offset, key, value, "unknown_decision", f"no pending decision {found.decision_id}")
            return self._count("unknown_decision")
        return self._count(outcome)

    def _count(self, outcome: str) -> str:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return outcome


class OfferExposure:
    """``scorer_offer_*``: decisions and reward rate per segment and offer, refreshed from the model."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["segment", "offer"]
        self.decisions = Gauge("scorer_offer_decisions", "Offer decisions made, by segment and offer.", labels, registry=registry)
        self.share = Gauge("scorer_offer_exposure_share", "Share of a segment's decisions that went to the offer.", labels, registry=registry)
        self.reward_rate = Gauge("scorer_offer_reward_rate", "Rewarded share of the resolved decisions, by segment and offer.", labels, registry=registry)
        self.pending = Gauge("scorer_offer_pending_decisions", "Decisions waiting for their window to close.", registry=registry)

    def refresh(self, model: OfferModel) -> None:
        for segment, offers in model.exposure.table().items():
            for offer, row in offers.items():
                self.decisions.labels(segment, offer).set(row["decisions"])
                self.share.labels(segment, offer).set(row["share"])
                self.reward_rate.labels(segment, offer).set(row["reward_rate"])
        self.pending.set(len(model.join))


def offer_on_request(
    processor: Any, settings: Any, model: OfferModel, user_id: str, request_id: str, now_ms: int
) -> dict[str, Any] | None:
    """``GET /users/{id}/offer``: a decision now, for a page being rendered; None for a user this worker does not hold.

    The decision is made like a triggered one, from the user's features as of their
    latest event (in the context of their latest click, whose category decides
    eligibility), dated at that event's time so that its reward window runs in event
    time like every other; it is published to the decisions topic with its logged
    propensity and waits for feedback and purchases. The frequency cap does not apply:
    the page asked. An opted-out user gets no offer (``reason: opted_out``); so does
    one no offer is eligible for (``none_eligible``) or a worker with an empty
    catalogue (``no_catalogue``).
    """
    key = user_id.encode()
    record = processor.cache.get(partition_for(key, settings.partitions), key)
    if record is None or record.is_marker:
        return None
    if record.opted_out or not len(model.catalogue):
        return {"user_id": user_id, "offer_id": None, "reason": "opted_out" if record.opted_out else "no_catalogue"}
    state = record.state
    decision = model.decide(user_id, request_id, state.ref_ts, state.context[1], state.current_x())
    if decision is None:
        return {"user_id": user_id, "offer_id": None, "reason": "none_eligible"}
    topic = settings.topic_scores_offers
    payload = decision.payload(now_ms)
    processor.publisher.produce(topic, key, payload)
    processor.metrics.count_published(topic)
    return orjson.loads(payload)


async def run_offer_inputs(worker: Any, idle_s: float = 0.2) -> None:
    """Read the catalogue and the feedback for as long as the worker runs (started by the Faust app)."""
    from confluent_kafka import TopicPartition

    from scorer.kafka import private_consumer

    settings = worker.settings
    while worker.processor is None:
        await asyncio.sleep(idle_s)
    model = user_model(worker.user_models, "offers")
    if model is None:
        return
    exposure = OfferExposure(worker.metrics.registry)

    def owned() -> set[int]:
        return {tp.partition for tp in worker.assignment() if tp.topic == settings.topic_clickstream}

    inputs = OfferInputs(model, settings.partitions, owned, worker.processor.dead_letter)
    consumer = private_consumer(settings, "offers")
    consumer.assign(
        [TopicPartition(settings.topic_offers, p, -2) for p in range(settings.partitions)]
        + [TopicPartition(settings.topic_offers_feedback, p, -1) for p in range(settings.partitions)]
    )
    worker.offers = inputs
    try:
        while True:
            messages = consumer.consume(500, timeout=0)
            for message in messages:
                if message.error():
                    continue
                if message.topic() == settings.topic_offers:
                    inputs.catalogue(message.key(), message.value())
                else:
                    inputs.feedback(message.topic(), message.partition(), message.offset(), message.key(), message.value())
            exposure.refresh(model)
            await asyncio.sleep(0 if messages else idle_s)
    finally:
        consumer.close()
