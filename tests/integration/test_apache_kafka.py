"""The pinned Apache Kafka broker: what only a real broker shows.

Two brokers serve the whole module: a plaintext one (partitions, durability across a
restart, committed offsets, transactions) and a secured one whose client listeners each
carry one kind of security (SASL PLAIN and SCRAM-SHA-512, TLS, mutual TLS, SASL over TLS).
Refusals are checked by the error librdkafka reports, so a test fails if a client is turned
away for another reason than the one under test.

Only a missing Java skips the module: a failing install is a failure, since these tests are
the only check that the pinned release still installs and runs.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from scorer.tools.apache_kafka import (
    ApacheKafka,
    KafkaStartError,
    Listener,
    TlsMaterial,
    generate_tls_material,
    install,
    kafka_version,
)
from tests.integration.real_kafka import read_all


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and Path(home, "bin", "java").is_file())


pytestmark = pytest.mark.skipif(not _java_available(), reason="Apache Kafka needs Java 17+")

USERS = {"alice": "alice-secret", "bob": "bob-secret"}
RDKAFKA_LOG = logging.getLogger("rdkafka")


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def kafka_libs() -> Path:
    return install()


@pytest.fixture(scope="module")
def kafka(kafka_libs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    with ApacheKafka(tmp_path_factory.mktemp("kafka-plain"), libs=kafka_libs) as broker:
        yield broker


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return generate_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def stranger_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """Certificates from another CA, which the secured broker does not trust."""
    return generate_tls_material(tmp_path_factory.mktemp("tls-stranger"), ca_name="stranger CA")


@pytest.fixture(scope="module")
def secured(
    kafka_libs: Path, tls: TlsMaterial, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApacheKafka]:
    listeners = (
        Listener("SASL", sasl_mechanisms=("SCRAM-SHA-512", "PLAIN")),
        Listener("TLS", tls=tls),
        Listener("MTLS", tls=tls, client_auth=True),
        Listener("SASL_TLS", sasl_mechanisms=("SCRAM-SHA-512",), tls=tls),
    )
    run_dir = tmp_path_factory.mktemp("kafka-secured")
    with ApacheKafka(run_dir, listeners=listeners, users=USERS, libs=kafka_libs) as broker:
        yield broker


# --------------------------------------------------------------------------------------------
# Client helpers


def quiet(config: dict[str, Any]) -> dict[str, Any]:
    """Route librdkafka's log lines through logging, so pytest shows them only on failure."""
    return {**config, "logger": RDKAFKA_LOG}


def create_topic(config: dict[str, Any], partitions: int = 1) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin = AdminClient(quiet(config))
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1)], operation_timeout=30
    )
    futures[name].result(timeout=30)
    return name


def produce(config: dict[str, Any], topic: str, values: list[str]) -> None:
    failures: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error)

    producer = Producer(quiet({**config, "linger.ms": 5}))
    for value in values:
        producer.produce(topic, value.encode(), key=value.encode(), on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert failures == []


def values(messages: list[Message]) -> list[str]:
    return [message.value().decode() for message in messages]


def round_trip(config: dict[str, Any], count: int = 20) -> None:
    """Create a topic, produce and read back through ``config``: the listener fully works."""
    topic = create_topic(config, partitions=2)
    sent = [f"m{i}" for i in range(count)]
    produce(config, topic, sent)
    assert sorted(values(read_all(config, topic))) == sorted(sent)


def refusal(config: dict[str, Any], timeout: float = 15.0) -> list[KafkaError]:
    """The errors a client gets when connecting with ``config``; it must get no metadata."""
    errors: list[KafkaError] = []
    admin = AdminClient(quiet({**config, "error_cb": errors.append}))
    deadline = time.monotonic() + timeout
    while not errors and time.monotonic() < deadline:
        admin.poll(0.1)
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=1)
    assert errors, "the client was neither served nor refused"
    return errors


def has_error(errors: list[KafkaError], code: int, *fragments: str) -> bool:
    return any(
        e.code() == code and all(f.lower() in e.str().lower() for f in fragments) for e in errors
    )


# --------------------------------------------------------------------------------------------
# Installation


def test_install_is_cached_and_complete(kafka_libs: Path) -> None:
    started = time.monotonic()
    assert install() == kafka_libs
    assert time.monotonic() - started < 1.0
    version = kafka_version()
    jars = {p.name for p in kafka_libs.glob("*.jar")}
    assert f"kafka_2.13-{version}.jar" in jars
    assert f"kafka-clients-{version}.jar" in jars
    assert any(name.startswith("log4j-core-") for name in jars)
    assert any(name.startswith("log4j-slf4j2-impl-") for name in jars)


def test_start_failure_reports_the_log_tail(kafka_libs: Path, tmp_path: Path) -> None:
    broker = ApacheKafka(tmp_path / "kafka", libs=kafka_libs, start_timeout=60)
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(KafkaStartError) as failure:
            broker.start()
    assert "exited with code" in str(failure.value)
    assert "Address already in use" in str(failure.value)
    assert not broker.is_running


# --------------------------------------------------------------------------------------------
# Plaintext broker


def test_eight_partitions_carry_a_thousand_messages(kafka: ApacheKafka) -> None:
    config = kafka.client_config()
    topic = create_topic(config, partitions=8)
    assert (
        len(AdminClient(quiet(config)).list_topics(topic, timeout=10).topics[topic].partitions) == 8
    )
    sent = [f"user-{i:04d}" for i in range(1000)]
    produce(config, topic, sent)

    received = read_all(config, topic)
    assert sorted(values(received)) == sent
    by_partition: dict[int, list[int]] = {}
    for message in received:
        by_partition.setdefault(message.partition(), []).append(message.offset())
    assert len(by_partition) == 8, "keys should spread over every partition"
    for offsets in by_partition.values():
        assert offsets == list(range(len(offsets)))


def test_restart_keeps_messages_and_committed_offsets(kafka: ApacheKafka) -> None:
    config = kafka.client_config()
    topic = create_topic(config, partitions=4)
    sent = [f"event-{i:03d}" for i in range(400)]
    produce(config, topic, sent)
    group = f"group-{uuid.uuid4().hex[:8]}"

    first_consumer = group_consumer(config, group, topic)
    first = [first_consumer.poll(10) for _ in range(250)]
    assert all(m is not None and m.error() is None for m in first)
    next_offsets: dict[int, int] = {}
    for message in first:
        next_offsets[message.partition()] = message.offset() + 1
    committed = [TopicPartition(topic, p, o) for p, o in sorted(next_offsets.items())]
    first_consumer.commit(offsets=committed, asynchronous=False)
    first_consumer.close()

    kafka.restart()
    assert kafka.format_seconds is None, "a restart must reuse the formatted log dir"

    assert sorted(values(read_all(config, topic))) == sent
    second_consumer = group_consumer(config, group, topic)
    try:
        survived = second_consumer.committed(
            [TopicPartition(topic, p) for p in next_offsets], timeout=10
        )
        assert {(tp.partition, tp.offset) for tp in survived} == set(next_offsets.items())
        rest: list[Message] = []
        deadline = time.monotonic() + 30
        while len(rest) < 150 and time.monotonic() < deadline:
            message = second_consumer.poll(1)
            if message is not None and message.error() is None:
                rest.append(message)
        assert second_consumer.poll(1) is None
    finally:
        second_consumer.close()
    assert sorted(values(first) + values(rest)) == sent


def group_consumer(config: dict[str, Any], group: str, topic: str) -> Consumer:
    consumer = Consumer(
        quiet(
            {
                **config,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 6000,
            }
        )
    )
    consumer.subscribe([topic])
    return consumer


def test_read_committed_sees_only_committed_transactions(kafka: ApacheKafka) -> None:
    config = kafka.client_config()
    topic = create_topic(config, partitions=2)
    producer = Producer(quiet({**config, "transactional.id": f"tx-{uuid.uuid4().hex[:8]}"}))
    producer.init_transactions(30)

    def transaction(prefix: str, count: int) -> list[str]:
        batch = [f"{prefix}-{i}" for i in range(count)]
        producer.begin_transaction()
        for value in batch:
            producer.produce(topic, value.encode(), key=value.encode())
        producer.flush(30)
        return batch

    committed = transaction("committed-a", 10)
    producer.commit_transaction(30)
    aborted = transaction("aborted", 10)
    producer.abort_transaction(30)
    committed += transaction("committed-b", 10)
    producer.commit_transaction(30)
    pending = transaction("pending", 5)

    assert sorted(values(read_all(config, topic, isolation="read_committed"))) == sorted(committed)
    assert sorted(values(read_all(config, topic))) == sorted(committed + aborted + pending)

    producer.commit_transaction(30)
    assert sorted(values(read_all(config, topic, isolation="read_committed"))) == sorted(
        committed + pending
    )


# --------------------------------------------------------------------------------------------
# Secured broker: SASL


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_sasl_right_password_produces_and_consumes(secured: ApacheKafka, mechanism: str) -> None:
    config = secured.client_config("SASL", user="bob", mechanism=mechanism)
    assert config["security.protocol"] == "SASL_PLAINTEXT"
    round_trip(config)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_sasl_wrong_password_is_an_authentication_error(
    secured: ApacheKafka, mechanism: str
) -> None:
    config = secured.client_config("SASL", mechanism=mechanism, password="not-alice-secret")
    errors = refusal(config)
    assert has_error(errors, KafkaError._AUTHENTICATION, "authentication failed"), errors


def test_sasl_unknown_user_is_an_authentication_error(secured: ApacheKafka) -> None:
    config = secured.client_config("SASL", user="mallory", password="guess")
    assert has_error(refusal(config), KafkaError._AUTHENTICATION, "authentication failed")


def test_plaintext_client_is_refused_by_a_sasl_listener(secured: ApacheKafka) -> None:
    config = {"bootstrap.servers": secured.bootstrap_of("SASL")}
    errors = refusal(config)
    assert all(e.code() != KafkaError._AUTHENTICATION for e in errors)


def test_sasl_over_tls(secured: ApacheKafka, stranger_tls: TlsMaterial) -> None:
    config = secured.client_config("SASL_TLS")
    assert config["security.protocol"] == "SASL_SSL"
    round_trip(config)
    wrong_password = secured.client_config("SASL_TLS", password="nope")
    assert has_error(refusal(wrong_password), KafkaError._AUTHENTICATION, "authentication failed")
    wrong_ca = {**config, "ssl.ca.location": str(stranger_tls.ca_cert)}
    assert has_error(refusal(wrong_ca), KafkaError._SSL, "certificate verify failed")


# --------------------------------------------------------------------------------------------
# Secured broker: TLS and mutual TLS


def test_tls_client_trusting_the_ca_works(secured: ApacheKafka) -> None:
    config = secured.client_config("TLS")
    assert config["security.protocol"] == "SSL"
    round_trip(config)


def test_tls_client_trusting_another_ca_is_refused(
    secured: ApacheKafka, stranger_tls: TlsMaterial
) -> None:
    config = {**secured.client_config("TLS"), "ssl.ca.location": str(stranger_tls.ca_cert)}
    assert has_error(refusal(config), KafkaError._SSL, "certificate verify failed")


def test_mutual_tls_with_a_client_certificate_works(secured: ApacheKafka) -> None:
    config = secured.client_config("MTLS")
    assert "ssl.certificate.location" in config
    round_trip(config)


def test_mutual_tls_without_a_client_certificate_is_refused(secured: ApacheKafka) -> None:
    config = secured.client_config("MTLS")
    del config["ssl.certificate.location"], config["ssl.key.location"]
    errors = refusal(config)
    # In TLS 1.3 the server checks the client's certificate after the client's handshake is
    # done, so the refusal reaches librdkafka as an alert on the first read.
    assert any(
        e.code() in (KafkaError._SSL, KafkaError._TRANSPORT) and "bad certificate" in e.str()
        for e in errors
    ), errors


def test_mutual_tls_with_another_cas_client_certificate_is_refused(
    secured: ApacheKafka, stranger_tls: TlsMaterial
) -> None:
    config = {
        **secured.client_config("MTLS"),
        "ssl.certificate.location": str(stranger_tls.client_cert),
        "ssl.key.location": str(stranger_tls.client_key),
    }
    errors = refusal(config)
    # OpenSSL offers no certificate the broker's CA list does not name, so the broker sees
    # the same as no certificate; either way the handshake must end in a certificate alert.
    assert any(
        e.code() in (KafkaError._SSL, KafkaError._TRANSPORT)
        and ("bad certificate" in e.str() or "certificate unknown" in e.str())
        for e in errors
    ), errors
