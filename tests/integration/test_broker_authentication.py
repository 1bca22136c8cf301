"""SASL settings reach both client stacks, against the embedded broker with authentication on.

Tansu's ``--authentication`` switch makes every client pass SASL/SCRAM. Its
memory storage holds no users and none can be added from outside, so no login
can succeed here; what these tests show is that the settings are used: a
client without SASL is refused, and clients configured through
:class:`Settings` run the SCRAM exchange as the configured user, which the
broker answers with ``unknown-user``. A successful login belongs to a broker
with users (see deploy/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka import KafkaError, Producer
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from scorer.tools import EmbeddedBroker, free_port
from scorer.kafka import faust_credentials
from scorer.settings import Settings


@pytest.fixture(scope="module")
def locked_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("locked-broker") / "broker.log"
    with EmbeddedBroker(free_port(), log_path=log, authentication=True) as embedded:
        yield embedded


def scram(broker: EmbeddedBroker, mechanism: str = "SCRAM-SHA-256") -> Settings:
    """Settings that log in as alice, a user the memory-only broker cannot know."""
    return Settings(
        broker=broker.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_username="alice",
        sasl_password="secret",
    )


def librdkafka_errors(settings: Settings, seconds: float = 5.0) -> list[KafkaError]:
    """Errors a producer built from ``settings`` reports while it tries to connect."""
    errors: list[KafkaError] = []
    producer = Producer({**settings.kafka_config(), "error_cb": errors.append, "log_level": 0})
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        producer.poll(0.1)
    return errors


def test_a_client_without_sasl_gets_nothing(locked_broker: EmbeddedBroker) -> None:
    errors = librdkafka_errors(Settings(broker=locked_broker.bootstrap), seconds=2.0)
    assert errors and all(e.code() != KafkaError._AUTHENTICATION for e in errors)
    assert any(e.code() == KafkaError._ALL_BROKERS_DOWN for e in errors)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_librdkafka_clients_authenticate_with_the_configured_scram_user(
    locked_broker: EmbeddedBroker, mechanism: str
) -> None:
    refusals = [e.str() for e in librdkafka_errors(scram(locked_broker, mechanism)) if e.code() == KafkaError._AUTHENTICATION]
    assert refusals, "the client never reached SASL authentication"
    assert "SCRAM authentication failed" in refusals[0] and "unknown-user" in refusals[0]


def test_faust_clients_authenticate_with_the_configured_scram_user(
    locked_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    settings = scram(locked_broker)
    # The very mapping Faust applies to App(broker_credentials=...) for its aiokafka clients.
    auth = credentials_to_aiokafka_auth(faust_credentials(settings))

    async def connect() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.broker, request_timeout_ms=3000, **auth)
        try:
            await asyncio.wait_for(producer.start(), 15)
        finally:
            await producer.stop()

    with caplog.at_level(logging.DEBUG, logger="aiokafka.conn"):
        # aiokafka does not read SCRAM's error attribute, so the refusal surfaces as whatever it raises.
        with pytest.raises(Exception):
            asyncio.run(connect())
    exchange = caplog.text
    assert "SaslHandShakeRequest_v1(mechanism='SCRAM-SHA-256')" in exchange
    assert "n=alice," in exchange  # the client-first message names the configured user
    assert "e=unknown-user" in exchange


def test_the_switch_is_on_the_command_line() -> None:
    assert "--authentication" in EmbeddedBroker(9092, authentication=True).command()
    assert "--authentication" not in EmbeddedBroker(9092).command()
