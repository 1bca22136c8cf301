"""Shared training: every worker learns every worker's labelled examples, in one order.

With ``SCORER_TRAINING=shared``, a worker does not learn the examples its own
partitions resolve; it publishes them to ``SCORER_TOPIC_TRAINING`` (one
partition, JSON, never pickle). Every worker reads that topic from start to
end outside any consumer group and learns each example in the topic's order,
so all workers hold the same model, one that has learned from all partitions.

Why replicated learning rather than one trainer that ships snapshots: the
default model learns an example in tens of microseconds, so learning all of
them on every worker costs little, and every worker's model is current to
within one fetch instead of one snapshot interval. The training topic is also
the model's log: a snapshot records the offset it reflects, and a restarted
worker replays the topic from there, so a crash loses nothing the topic holds.

The same log carries the lifetime-value model's customer summaries (record key
``clv``): each worker publishes the summaries of its own customers' purchases,
and every worker takes every summary into its fit sample in the log's order. The
refits are scheduled by the summaries' event time, so every worker fits the same
sample at the same point of the log and holds the same parameters under the same
version. A summary names the customer only by a 64-bit hash, and an erasure is a
summary too, so it reaches every worker's sample.

The segment model's updates travel the same way (record key ``seg``): a worker
publishes each update of its own users (the values that move the RFM quantiles and
the cluster centres, without the user's id) and assigns the user with the model as
it stands; every worker learns every update in the log's order, so all workers
hold the same quantiles and the same centres under the same cluster ids.

At least once: examples a worker resolved after its last commit are resolved
and published again when it restarts, so a crash can teach those twice.
"""

from __future__ import annotations

import asyncio
import logging

from confluent_kafka import KafkaError, TopicPartition

from scorer.clv import CustomerSummary, LifetimeValue
from scorer.features import FEATURE_NAMES
from scorer.propensity import Resolved
from scorer.scoring import ScoringPipeline
from scorer.segments import SegmentModel, SegmentObservation
from scorer.kafka import Publisher, private_consumer
from scorer.settings import Settings

log = logging.getLogger(__name__)

#: Where the position in the training topic is kept in a snapshot's positions.
POSITION_KEY = "training"
#: Record key of a customer summary on the training topic (examples have none).
CLV_KEY = b"clv"
#: Record key of a segment model update.
SEGMENTS_KEY = b"seg"


class SharedTraining:
    """Publishes a worker's resolved examples and learns everyone's from the training topic."""

    def __init__(
        self,
        settings: Settings,
        pipeline: ScoringPipeline,
        publisher: Publisher,
        start: int = 0,
        clv: LifetimeValue | None = None,
        segments: SegmentModel | None = None,
    ) -> None:
        self.topic = settings.topic_training
        self.pipeline = pipeline
        self.clv = clv
        self.segments = segments
        self.publisher = publisher
        self.position = start
        self.published = 0
        self.invalid = 0
        # Never joins the group: assign() reads the whole partition on every worker.
        self._consumer = private_consumer(settings, "training", **{"fetch.wait.max.ms": settings.fetch_max_wait_ms})
        self._consumer.assign([TopicPartition(self.topic, 0, start)])
        pipeline.on_resolved = self.publish
        if clv is not None:
            clv.on_summary = self.publish_summary
        if segments is not None:
            segments.on_observation = self.publish_observation

    def publish(self, example: Resolved) -> None:
        self.publisher.produce(self.topic, None, example.to_bytes(), partition=0)
        self.published += 1

    def publish_summary(self, summary: CustomerSummary) -> None:
        self.publisher.produce(self.topic, CLV_KEY, summary.to_bytes(), partition=0)

    def publish_observation(self, observation: SegmentObservation) -> None:
        self.publisher.produce(self.topic, SEGMENTS_KEY, observation.to_bytes(), partition=0)

    def learn_available(self, limit: int = 1_000) -> int:
        """Learn what the topic holds beyond the current position, up to ``limit``; never blocks.

        Returns the records taken (examples and customer summaries)."""
        learned = 0
        for message in self._consumer.consume(limit, timeout=0):
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("training topic: %s", message.error())
                continue
            self.position = message.offset() + 1
            key = message.key()
            try:
                if key == CLV_KEY:
                    summary = CustomerSummary.from_bytes(message.value())
                    if self.clv is not None:
                        self.clv.learn_summary(summary)
                elif key == SEGMENTS_KEY:
                    observation = SegmentObservation.from_bytes(message.value())
                    if self.segments is not None:
                        self.segments.learn_observation(observation)
                else:
                    self.pipeline.learn_example(Resolved.from_bytes(message.value(), width=len(FEATURE_NAMES)))
            except ValueError as exc:
                self.invalid += 1
                log.warning("skipped training record at offset %d: %s", message.offset(), exc)
                continue
            learned += 1
        return learned

    async def run(self, idle_s: float = 0.02) -> None:
        """Learn forever, yielding to the scoring agent between batches."""
        while True:
            learned = self.learn_available()
            await asyncio.sleep(0 if learned else idle_s)

    def close(self) -> None:
        self._consumer.close()
