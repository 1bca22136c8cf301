"""The scorer's topics: their specs, derived from the settings, and their creation.

Topics are created before anything subscribes: the embedded broker
auto-creates a topic a consumer subscribes to, with its own partition count,
which then breaks Faust's co-partitioning of tables with their source topics.
Configs are set explicitly because some brokers report only explicit ones.
"""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from scorer.kafka.logs import client_logging
from scorer.settings import Settings
from scorer.kafka.security import login_refusal

log = logging.getLogger(__name__)

_WEEK_MS = str(7 * 24 * 3600 * 1000)
#: Largest model snapshot the models topic and the publisher accept.
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic the scorer reads or writes; all but the models topic are partitioned alike by user."""
    deleting = {"cleanup.policy": "delete", "retention.ms": _WEEK_MS}
    # Keyed by user and read for the latest value per user: compaction keeps
    # the newest consent and the newest score, and tombstones erase a user.
    compacted = {"cleanup.policy": "compact"}
    n = settings.partitions
    return [
        TopicSpec(settings.topic_clickstream, n, deleting),
        TopicSpec(settings.topic_purchases, n, deleting),
        TopicSpec(settings.topic_consent, n, compacted),
        TopicSpec(settings.topic_scores_propensity, n, compacted),
        TopicSpec(settings.topic_scores_recommendations, n, compacted),
        TopicSpec(settings.topic_scores_clv, n, compacted),
        TopicSpec(settings.topic_scores_segments, n, compacted),
        TopicSpec(settings.topic_dlq, n, deleting),
        # One partition: snapshots are few, and a reader wants them in order.
        # Tree ensembles seal to tens of MiB (ARF, 10 trees: about 26 MiB).
        TopicSpec(settings.topic_models, 1, {**compacted, "max.message.bytes": str(MAX_SNAPSHOT_BYTES)}),
        # One partition, compacted under the app id: the newest recommender snapshot.
        TopicSpec(settings.topic_recommender, 1, {**compacted, "max.message.bytes": str(MAX_SNAPSHOT_BYTES)}),
        # One partition: every worker learns its examples in the same order.
        TopicSpec(settings.topic_training, 1, deleting),
        # Next-best offer. The catalogue is read for the latest entry per offer id. Decisions are a
        # log (every one is needed to evaluate the policy offline): compacting by user would keep
        # only each user's last, so they are deleted after the week, like the inputs they came from.
        TopicSpec(settings.topic_offers, n, compacted),
        TopicSpec(settings.topic_offers_feedback, n, deleting),
        TopicSpec(settings.topic_scores_offers, n, deleting),
    ]


#: How long a command waits for a broker to answer before it says none does.
CONNECT_TIMEOUT_S = 5.0


class BrokerUnavailable(RuntimeError):
    """No Kafka broker answered at the configured address."""


class PartitionMismatch(RuntimeError):
    """An existing topic has another partition count than the settings say."""


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient({**settings.kafka_config(), **client_logging()})


def _probe(bootstrap: str, timeout_s: float) -> str | None:
    """None if a TCP connection to one of the bootstrap addresses opens, else why none did.

    A refused connection is known at once, while librdkafka would retry it until its timeout.
    """
    reasons = []
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
                return None
        except (OSError, ValueError) as exc:
            reasons.append(f"{address.strip()}: {getattr(exc, 'strerror', None) or exc}")
    return "; ".join(reasons)


def _metadata(admin: AdminClient, settings: Settings, timeout_s: float) -> Any:
    refused = _probe(settings.broker, timeout_s)
    if refused is not None:
        raise BrokerUnavailable(
            f"no Kafka broker answered at {settings.broker} ({refused}); "
            "start one with `scorer broker`, or point --broker / SCORER_BROKER at yours"
        )
    try:
        return admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        refusal = login_refusal(settings)
        if refusal is not None:
            raise BrokerUnavailable(refusal) from None
        error = exc.args[0]
        reason = error.str() if hasattr(error, "str") else str(error)
        raise BrokerUnavailable(
            f"no Kafka broker answered at {settings.broker} within {timeout_s:.0f}s ({reason}); "
            "start one with `scorer broker`, or point --broker / SCORER_BROKER at yours"
        ) from None


def require_broker(settings: Settings, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`BrokerUnavailable` unless a broker answers within ``timeout_s``."""
    _metadata(admin_client(settings), settings, timeout_s)


def existing_topics(settings: Settings, timeout_s: float = CONNECT_TIMEOUT_S) -> set[str]:
    """Names of every topic the broker holds."""
    return set(_metadata(admin_client(settings), settings, timeout_s).topics)


def topic_id(settings: Settings, name: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """The broker's id of topic ``name`` (a new one each time a topic is created), None if it does not exist."""
    from confluent_kafka import TopicCollection

    admin = admin_client(settings)
    if name not in _metadata(admin, settings, timeout_s).topics:
        return None
    try:
        described = admin.describe_topics(TopicCollection([name]), request_timeout=timeout_s)[name].result()
    except KafkaException:
        return None
    return str(described.topic_id)


def describe_topics(settings: Settings, timeout_s: float = CONNECT_TIMEOUT_S) -> dict[str, int | None]:
    """Partition count of each of the scorer's topics, None where missing."""
    existing = _metadata(admin_client(settings), settings, timeout_s).topics
    return {
        spec.name: len(existing[spec.name].partitions) if spec.name in existing else None
        for spec in topic_specs(settings)
    }


def create_topics(settings: Settings, timeout_s: float = CONNECT_TIMEOUT_S, check_partitions: bool = True) -> dict[str, str]:
    """Create missing topics; returns ``{name: "created" | "exists"}``.

    An existing topic with another partition count is an error
    (:class:`PartitionMismatch`): the scorer's per-user state relies on every
    user-keyed topic being partitioned alike. Producers pass
    ``check_partitions=False``: Kafka's partitioner spreads keys over whatever
    partitions a topic has, so they need no particular count.
    """
    admin = admin_client(settings)
    specs = topic_specs(settings)
    existing = _metadata(admin, settings, timeout_s).topics
    outcome: dict[str, str] = {}
    missing = []
    for spec in specs:
        meta = existing.get(spec.name)
        if meta is None or meta.error is not None:
            missing.append(spec)
            continue
        if check_partitions and len(meta.partitions) != spec.partitions:
            raise PartitionMismatch(
                f"topic {spec.name!r} has {len(meta.partitions)} partitions, the scorer expects {spec.partitions}: "
                f"run with --partitions {len(meta.partitions)} (or SCORER_PARTITIONS={len(meta.partitions)}), "
                "since user-keyed topics must be partitioned alike"
            )
        outcome[spec.name] = "exists"
    if missing:
        futures = admin.create_topics(
            [
                NewTopic(s.name, num_partitions=s.partitions, replication_factor=settings.replication_factor, config=s.config)
                for s in missing
            ],
            operation_timeout=timeout_s,
            request_timeout=timeout_s,
        )
        for name, future in futures.items():
            try:
                future.result()
                outcome[name] = "created"
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise
                outcome[name] = "exists"
    return outcome


def topic_epochs(settings: Settings, topics: Sequence[str], timeout_s: float = CONNECT_TIMEOUT_S) -> dict[int, int]:
    """Each topic's incarnation, by its index in ``topics``: 48 bits of a digest of its Kafka topic id.

    A topic deleted and created again under the same name gets a new id and starts its
    offsets at 0; stored input positions name the incarnation they count in, so events of
    the new topic are never taken for replays of the old one's. A topic whose id the broker
    does not give (the null id of a broker without topic ids) is left out: positions then
    count as before.
    """
    epochs: dict[int, int] = {}
    for index, topic in enumerate(topics):
        found = topic_id(settings, topic, timeout_s) or ""
        # The null id (all zero bits) is what a broker without topic ids sends.
        if found.strip("A0-="):
            epochs[index] = int.from_bytes(hashlib.blake2b(found.encode(), digest_size=6).digest(), "big") or 1
        else:
            log.warning("no topic id for %s: a recreated topic would not be recognised", topic)
    return epochs
