"""Kafka plumbing shared by the worker and the tools: publishing, private consumers, topics, security.

Edge code (confluent-kafka), below the worker: it knows settings and topics, never Faust.
"""

from scorer.kafka.logs import RateLimit, limit_log_rates, show_librdkafka_log
from scorer.kafka.publisher import Publisher, PublishError
from scorer.kafka.consumers import private_consumer, read_partition
from scorer.kafka.topics import (
    CONNECT_TIMEOUT_S,
    MAX_SNAPSHOT_BYTES,
    BrokerUnavailable,
    PartitionMismatch,
    TopicSpec,
    create_topics,
    describe_topics,
    existing_topics,
    require_broker,
    topic_epochs,
    topic_id,
    topic_specs,
)
from scorer.kafka.security import faust_credentials

__all__ = [
    "BrokerUnavailable",
    "CONNECT_TIMEOUT_S",
    "MAX_SNAPSHOT_BYTES",
    "PartitionMismatch",
    "PublishError",
    "Publisher",
    "RateLimit",
    "TopicSpec",
    "create_topics",
    "topic_epochs",
    "describe_topics",
    "existing_topics",
    "faust_credentials",
    "limit_log_rates",
    "private_consumer",
    "read_partition",
    "require_broker",
    "show_librdkafka_log",
    "topic_id",
    "topic_specs",
]
