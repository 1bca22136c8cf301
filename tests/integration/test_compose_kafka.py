"""docker-compose.yml's Kafka (the official ``apache/kafka`` image) and the test broker agree.

The tests run the pinned release of deploy/kafka/pom.xml; users of the compose file run the
image. What either does to the scorer's data (topic creation, replication of the internal
topics, transactions) must be the same, so a setting of the test broker is either compared
here with the image's, or named as a test-only difference with its reason. Listeners differ
by design (the compose network against loopback ports) and are left out.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from scorer.tools.apache_kafka import ApacheKafka, kafka_version

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"

#: Broker settings that change what the scorer sees; compared between the two.
COMPARED = (
    "process.roles",
    "auto.create.topics.enable",
    "num.partitions",
    "default.replication.factor",
    "min.insync.replicas",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
)

#: Kafka's own defaults, for the compared settings the compose file leaves unset.
KAFKA_DEFAULTS = {"num.partitions": "1", "default.replication.factor": "1", "min.insync.replicas": "1"}

#: Set only in tests, each for speed on a small machine; none changes what a client reads.
TEST_ONLY = {
    # Groups form at once instead of after 3 s: every test starts a group.
    "group.initial.rebalance.delay.ms",
    # Internal topics with 4 partitions instead of 50, created on first use in each test broker.
    "offsets.topic.num.partitions",
    "transaction.state.log.num.partitions",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "share.coordinator.state.topic.num.partitions",
}

#: Where each runs: ports, node addresses, the log dir's path.
LISTENERS_AND_PATHS = {
    "node.id",
    "controller.quorum.voters",
    "controller.listener.names",
    "inter.broker.listener.name",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "log.dirs",
}


def compose_properties() -> dict[str, str]:
    """The image's server properties from its ``KAFKA_*`` variables (its own naming rule:
    ``_`` is ``.``, ``__`` is ``_``, ``___`` is ``-``)."""
    kafka = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["kafka"]
    props = {}
    for name, value in kafka["environment"].items():
        if not name.startswith("KAFKA_"):
            continue
        key = name[len("KAFKA_") :].lower().replace("___", "-").replace("__", "\0").replace("_", ".").replace("\0", "_")
        props[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return props


def test_broker_settings_that_matter_are_the_same(tmp_path) -> None:
    test_broker = ApacheKafka(tmp_path, libs=tmp_path).server_properties()
    compose = compose_properties()
    for key in COMPARED:
        assert compose.get(key, KAFKA_DEFAULTS.get(key)) == test_broker[key], key
    unclassified = set(test_broker) - set(COMPARED) - TEST_ONLY - LISTENERS_AND_PATHS
    assert not unclassified, f"decide whether the compose broker needs these too: {sorted(unclassified)}"
    unknown = set(compose) - set(COMPARED) - LISTENERS_AND_PATHS
    assert unknown <= {"log.dirs"}, f"compose sets what the test broker does not: {sorted(unknown)}"


def test_compose_runs_the_release_the_tests_run() -> None:
    image = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{kafka_version()}"
