"""The worker on real Apache Kafka: broker restarts, SASL and TLS logins, a killed group member.

These run on the pinned broker whatever ``SCORER_TEST_BROKER`` says: the embedded one has no
durable log to restart on, no users to log in as and no TLS. Each test prints what it
measured (run with ``-s`` to see it): recovery and rebalance times, duplicate scores.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from scorer.events import partition_for
from scorer.kafka import faust_credentials
from scorer.kafka.security import login_refusal
from scorer.settings import Settings
from scorer.tools import free_port, health, start_worker, stop_process
from scorer.tools.apache_kafka import ApacheKafka, Listener, TlsMaterial, generate_tls_material, install
from tests.integration.conftest import isolated_settings
from tests.integration.real_kafka import ScoreReader, Traffic, java_available, read_scores

pytestmark = pytest.mark.skipif(not java_available(), reason="Apache Kafka needs Java 17+")

USERS = {"scorer": "scorer-secret"}


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    with ApacheKafka(tmp_path_factory.mktemp("kafka-worker"), libs=install()) as broker:
        print(f"\nApache Kafka started in {broker.start_seconds:.1f} s (format {broker.format_seconds:.1f} s)")
        yield broker


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return generate_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def secured(tls: TlsMaterial, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    listeners = (
        Listener("SASL", sasl_mechanisms=("SCRAM-SHA-512", "PLAIN")),
        Listener("TLS", tls=tls),
        Listener("MTLS", tls=tls, client_auth=True),
    )
    run_dir = tmp_path_factory.mktemp("kafka-secured-worker")
    with ApacheKafka(run_dir, listeners=listeners, users=USERS, libs=install()) as broker:
        yield broker


def worker_settings(bootstrap: str, tmp_path: Path, **changes: object) -> Settings:
    return isolated_settings(bootstrap, tmp_path).replace(**changes)


# --------------------------------------------------------------------------------------------
# Broker restart


@pytest.mark.parametrize("crash", [False, True], ids=["clean-stop", "sigkill"])
def test_worker_recovers_from_a_broker_restart_mid_stream(kafka, start_worker_for, tmp_path, crash):
    settings = worker_settings(kafka.bootstrap, tmp_path)
    worker = start_worker_for(settings)
    reader = ScoreReader(settings, settings.topic_scores_propensity).start()
    rate = 40.0
    traffic = Traffic(settings, count=100_000, rate=rate).start()
    try:
        time.sleep(3.0)
        stopped = time.monotonic()
        if crash:
            assert kafka.kill() == -signal.SIGKILL
        else:
            # 143: the JVM's exit status after a SIGTERM it handled with an orderly shutdown.
            assert kafka.stop() in (0, 143), "the broker should shut down cleanly"
        halted = time.monotonic()
        time.sleep(2.0)
        kafka.start()
        assert kafka.format_seconds is None, "a restart must reuse the log dir"
        back = time.monotonic()
        time.sleep(3.0)
        traffic.stop()
        traffic.join()
        missing = reader.wait_for(traffic.accepted, timeout_s=60)
    finally:
        reader.stop()
    assert not traffic.failed
    assert worker.process.poll() is None, "the worker must ride out the outage, not exit"
    assert not missing, f"{len(missing)} accepted clicks were never scored"
    after = [reader.first_seen[e] for e, t in traffic.sent_at.items() if t > back]
    recovery = min(after) - back
    counts = read_scores(settings, settings.topic_scores_propensity)
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\nbroker {'killed' if crash else 'stopped'} in {halted - stopped:.1f} s, started again in "
        f"{kafka.start_seconds:.1f} s, down {back - stopped:.1f} s in all; first score of a new click {recovery:.1f} s after the broker "
        f"was back; {len(traffic.accepted)} accepted, 0 lost, {duplicates} duplicate scores"
    )
    # Offsets are committed every commit interval, so at most what was applied since the last
    # commit before the outage is applied again (with a second of slack for the aligner's hold
    # and the commit's round trip).
    assert duplicates <= rate * (settings.commit_interval_s + 1.0)
    doc = health(settings)
    assert doc is not None and doc["scored"] >= len(traffic.accepted)


# --------------------------------------------------------------------------------------------
# Logins


def sasl_settings(secured: ApacheKafka, tmp_path: Path, mechanism: str, password: str | None = None) -> Settings:
    return worker_settings(
        secured.bootstrap_of("SASL"),
        tmp_path,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_username="scorer",
        sasl_password=USERS["scorer"] if password is None else password,
    )


def scores_every_click(settings: Settings, start_worker_for, count: int = 40) -> None:
    """The worker consumes (Faust's aiokafka) and publishes (librdkafka) every click."""
    worker = start_worker_for(settings)
    reader = ScoreReader(settings, settings.topic_scores_propensity).start()
    traffic = Traffic(settings, count=count, rate=200.0).start()
    try:
        traffic.join()
        assert len(traffic.accepted) == count
        assert reader.wait_for(traffic.accepted, timeout_s=30) == set()
    finally:
        reader.stop()
    assert worker.process.poll() is None


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_worker_logs_in_with_sasl_and_scores(secured, start_worker_for, tmp_path, mechanism):
    scores_every_click(sasl_settings(secured, tmp_path, mechanism), start_worker_for)


def test_worker_over_tls_verifies_the_broker_and_scores(secured, tls, start_worker_for, tmp_path):
    settings = worker_settings(secured.bootstrap_of("TLS"), tmp_path, security_protocol="SSL", ssl_cafile=str(tls.ca_cert))
    scores_every_click(settings, start_worker_for)


def test_worker_over_mutual_tls_presents_its_certificate(secured, tls, start_worker_for, tmp_path):
    settings = worker_settings(
        secured.bootstrap_of("MTLS"),
        tmp_path,
        security_protocol="SSL",
        ssl_cafile=str(tls.ca_cert),
        ssl_certfile=str(tls.client_cert),
        ssl_keyfile=str(tls.client_key),
    )
    scores_every_click(settings, start_worker_for)


def aiokafka_start(settings: Settings) -> None:
    """Start and stop a producer of Faust's client stack with the worker's very credentials."""

    async def connect() -> None:
        auth = credentials_to_aiokafka_auth(faust_credentials(settings))
        producer = AIOKafkaProducer(bootstrap_servers=settings.broker, request_timeout_ms=5000, **auth)
        try:
            await asyncio.wait_for(producer.start(), 20)
        finally:
            await producer.stop()

    asyncio.run(connect())


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_both_client_stacks_refuse_a_wrong_password_clearly(secured, tmp_path, caplog, mechanism):
    right = sasl_settings(secured, tmp_path, mechanism)
    aiokafka_start(right)
    assert login_refusal(right, timeout_s=2.0) is None

    wrong = sasl_settings(secured, tmp_path, mechanism, password="not-the-secret")
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        aiokafka_start(wrong)
    # aiokafka raises "unable to bootstrap" and logs the broker's reason beside it.
    assert "SaslAuthenticationFailed: Authentication failed" in caplog.text
    message = login_refusal(wrong)
    assert message is not None and "as 'scorer'" in message and "SCORER_SASL_PASSWORD" in message
    assert "authentication failed" in message.lower()


def test_worker_with_a_wrong_password_exits_naming_the_login(secured, tmp_path):
    settings = sasl_settings(secured, tmp_path, "SCRAM-SHA-512", password="not-the-secret")
    log = tmp_path / "worker.log"
    process = start_worker(settings, log)
    try:
        assert process.wait(60) != 0
    finally:
        stop_process(process)
    last = log.read_text(errors="replace").strip().splitlines()[-1]
    assert last.startswith("Error: the broker at") and "refused the connection as 'scorer'" in last, last
    assert "SCORER_SASL_PASSWORD" in last


# --------------------------------------------------------------------------------------------
# Three workers, one killed


def owned(settings: Settings) -> set[int] | None:
    """The clickstream partitions a worker owns, or None if it does not answer."""
    doc = health(settings)
    if doc is None:
        return None
    prefix = settings.topic_clickstream + ":"
    return {int(p[len(prefix) :]) for p in doc["assigned_partitions"] if p.startswith(prefix)}


def wait_for_shares(group: list[Settings], partitions: int, timeout_s: float) -> float:
    """Wait until ``group`` owns every partition, each member some and none twice; returns when."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shares = [owned(s) for s in group]
        if all(shares) and sum(len(s) for s in shares) == partitions and set().union(*shares) == set(range(partitions)):
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"partitions not shared out within {timeout_s:.0f} s: {[owned(s) for s in group]}")


def diagnosis(settings: Settings) -> dict[str, object]:
    """What a worker says of itself: its accounting and its publish failures."""
    doc = health(settings) or {}
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5) as response:
        failures = [line for line in response.read().decode().splitlines() if line.startswith("scorer_publish_failures")]
    return {"owned": sorted(owned(settings) or ()), "accounting": doc.get("accounting"), "publish_failures": failures}


# This test found Faust losing a partition's first clicks while the group formed (a message
# dropped under an older generation is fetched again only where a committed offset exists);
# scorer/worker/faust_patches.py seeks never-committed partitions back to their first unacked offset.
def test_three_workers_one_killed_lose_nothing(kafka, start_worker_for, tmp_path):
    base = worker_settings(kafka.bootstrap, tmp_path, partitions=8)
    group = [base.replace(web_port=free_port(), data_dir=str(tmp_path / f"data-{i}")) for i in range(3)]
    workers = [start_worker_for(s) for s in group]
    wait_for_shares(group, 8, timeout_s=60)
    reader = ScoreReader(base, base.topic_scores_propensity).start()
    rate = 60.0
    traffic = Traffic(base, count=100_000, rate=rate, users=80).start()
    try:
        time.sleep(3.0)
        # Checked before the kill, so that a loss here is not blamed on it.
        # Acknowledged, not sent: a produce the client retried is the worker's only once the broker has it.
        unscored_before_kill = {e for e, t in list(traffic.acked_at.items()) if t < time.monotonic() - 2.0} - reader.scored()
        state_before_kill = [diagnosis(s) for s in group] if unscored_before_kill else []
        victim, survivors = workers[2], group[:2]
        lost_partitions = owned(group[2])
        killed = time.monotonic()
        os.kill(victim.process.pid, signal.SIGKILL)
        rebalanced = wait_for_shares(survivors, 8, timeout_s=60)
        time.sleep(2.0)
        traffic.stop()
        traffic.join()
        missing = reader.wait_for(traffic.accepted, timeout_s=60)
    finally:
        reader.stop()
    assert victim.process.wait(5) == -signal.SIGKILL
    assert all(w.process.poll() is None for w in workers[:2])
    assert not traffic.failed
    assert not unscored_before_kill, (
        f"clicks unscored 2 s after the broker acknowledged them, before any kill: {sorted(unscored_before_kill)} "
        f"(sent {[round(traffic.acked_at[e] - traffic.sent_at[e], 3) for e in sorted(unscored_before_kill)]} s before their "
        f"acknowledgement, partitions {[partition_for(f'user-{int(e[1:]) % 80}'.encode(), 8) for e in sorted(unscored_before_kill)]}); "
        f"{state_before_kill}"
    )
    final = read_scores(base, base.topic_scores_propensity)
    assert not missing, (f"{len(missing)} accepted clicks were never scored: {sorted(missing)}; in the final read: {[final[e] for e in sorted(missing)]} "
        f"lost partitions {lost_partitions}; {[health(s) for s in survivors]}; "
        f"{[(e, partition_for(f'user-{int(e[1:]) % 80}'.encode(), 8)) for e in sorted(missing)]}")
    orphaned = [
        e for e, t in traffic.sent_at.items()
        if t > killed and partition_for(f"user-{int(e[1:]) % 80}".encode(), 8) in lost_partitions
    ]
    recovery = min(reader.first_seen[e] for e in orphaned) - killed
    counts = read_scores(base, base.topic_scores_propensity, isolation="read_committed")
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\n3 workers, 8 partitions, {rate:.0f} clicks/s, one SIGKILLed (it owned {sorted(lost_partitions)}): "
        f"survivors own every partition {rebalanced - killed:.1f} s later (session timeout "
        f"{base.session_timeout_s:.0f} s); first score on its partitions {recovery:.1f} s after the kill; "
        f"{len(traffic.accepted)} accepted, 0 lost, {duplicates} duplicate scores (read_committed)"
    )
    # The killed worker's applied but uncommitted events are applied again by the survivors:
    # at most a commit interval's worth of its share, plus the aligner's hold.
    assert duplicates <= rate * (base.commit_interval_s + 1.0)
