"""What a new user meets first, on a real broker: a fresh worker's /metrics, its HTTP edge, partition counts."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import orjson
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from scorer.cli import cli
from scorer.events import partition_for
from scorer.kafka import create_topics, describe_topics
from scorer.tools import settings_environment
from tests.integration.conftest import consume
from tests.unit.test_deploy import all_expressions, families, promtool

TOKEN = "s3cret-token"


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read()


def _raw_request(port: int, headers: bytes) -> int:
    """Status code of a GET /models sent byte for byte, as a client with broken headers would."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_a_fresh_worker_exports_every_dashboard_series_before_any_event(settings, start_worker_for, tmp_path: Path) -> None:
    worker = start_worker_for(settings.replace(api_token=TOKEN))
    port = settings.web_port
    queried = families(all_expressions())
    # The lag of a partition is known from the first fetch's answer, a moment after assignment.
    deadline = time.monotonic() + 10
    while True:
        text = _get(port, "/metrics").decode()
        sampled = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
        missing = sorted(f for f in queried if not any(name == f or name.startswith(f + "_") for name in sampled))
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not missing, f"the dashboard queries series a fresh worker does not export yet: {missing}"
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"} <= sampled
    checked = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # librdkafka reports its connection states every 2 s; until then reachability is unknown (null).
    deadline = time.monotonic() + 15
    doc = orjson.loads(_get(port, "/health"))
    while doc["broker"]["reachable"] is None and time.monotonic() < deadline:
        time.sleep(0.5)
        doc = orjson.loads(_get(port, "/health"))
    assert doc["pid"] == worker.process.pid and doc["broker"]["reachable"] is True and doc["status"] == "ok"
    # Broken Authorization headers are refused (4xx), never a server error.
    assert _raw_request(port, f"Authorization: Bearer {TOKEN}\r\n".encode()) == 200
    assert _raw_request(port, "Authorization: Bearer s3crét\r\n".encode()) == 401
    assert _raw_request(port, b"Authorization: Bearer \xff\xfe\x80\r\n") == 401
    assert _raw_request(port, f"Authorization: Bearer {TOKEN}\r\nAuthorization: Bearer other\r\n".encode()) == 401
    # Started without SCORER_MODEL_KEY: the worker says so in its log.
    deadline = time.monotonic() + 10
    while "SCORER_MODEL_KEY is not set" not in worker.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "SCORER_MODEL_KEY is not set" in worker.log_text()


def test_a_partition_mismatch_names_the_flag_and_producers_take_any_count(settings, tmp_path: Path) -> None:
    create_topics(settings)  # 4 partitions each
    env = {**settings_environment(settings), "SCORER_PARTITIONS": "8"}
    for command in (["topics", "create"], ["worker", "--store", "memory"]):
        result = CliRunner().invoke(cli, command, env=env)
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "has 4 partitions" in lines[0], result.output
        assert "--partitions 4" in lines[0] and "SCORER_PARTITIONS=4" in lines[0]

    # A producer needs no particular count: replay spreads users over the 4 partitions with Kafka's partitioner.
    path = tmp_path / "clicks.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps({"event_id": f"e{i}", "user_id": f"user-{i}", "ts": 1_767_225_600_000 + i, "type": "page_view"}) + b"\n"
            for i in range(40)
        )
    )
    result = CliRunner().invoke(cli, ["replay", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "sent 40 events" in result.output
    assert describe_topics(settings)[settings.topic_clickstream] == 4
    messages = consume(settings, settings.topic_clickstream, 40)
    assert len(messages) == 40
    assert all(m.partition() == partition_for(m.key(), 4) for m in messages)


def test_tail_before_any_topic_exists_says_what_to_do(settings) -> None:
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["tail", "--duration", "30"], env=settings_environment(settings))
    assert result.exit_code == 1 and time.monotonic() - started < 10
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"has no topic {settings.topic_scores_propensity!r} yet" in lines[0]
    assert "scorer topics create" in lines[0]
