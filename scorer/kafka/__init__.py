"""Kafka plumbing shared by the worker and the tools: publishing, private consumers, topics, security.

Edge code (confluent-kafka), below the worker: it knows settings and topics, never Faust.
"""

from scorer.kafka.publisher import Publisher
from scorer.kafka.consumers import private_consumer, read_partition
from scorer.kafka.topics import MAX_SNAPSHOT_BYTES, BrokerUnavailable, TopicSpec, create_topics, describe_topics, topic_epochs, topic_specs
from scorer.kafka.security import faust_credentials

__all__ = [
    "BrokerUnavailable",
    "MAX_SNAPSHOT_BYTES",
    "Publisher",
    "TopicSpec",
    "create_topics",
    "topic_epochs",
    "describe_topics",
    "faust_credentials",
    "private_consumer",
    "read_partition",
    "topic_specs",
]
