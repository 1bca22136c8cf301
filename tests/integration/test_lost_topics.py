"""A worker whose broker lost its topics (the embedded broker restarted) says so and how to recover, instead of crashing.

On an embedded broker of its own, restarted by the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from scorer.kafka import create_topics
from scorer.tools import EmbeddedBroker, free_port, settings_environment, start_worker, stop_process, wait_until_assigned
from tests.integration.conftest import isolated_settings


def test_state_from_lost_topics_is_refused_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    settings = isolated_settings(f"127.0.0.1:{port}", tmp_path).replace(store="rocksdb")
    remembered = Path(settings.data_dir) / settings.app_id / "users-changelog.topic-id"
    with EmbeddedBroker(port, log_path=tmp_path / "broker-1.log"):
        create_topics(settings)
        worker = start_worker(settings, tmp_path / "worker-1.log")
        try:
            wait_until_assigned(settings, worker, timeout_s=90)
            deadline = time.monotonic() + 30
            while not remembered.is_file() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert remembered.is_file(), "the worker did not record its changelog's topic id"
        finally:
            stop_process(worker)
    # The same port again: a new broker, without any of the old topics.
    with EmbeddedBroker(port, log_path=tmp_path / "broker-2.log"):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "scorer", "worker"],
            env={**os.environ, **settings_environment(settings)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1 and time.monotonic() - started < 20
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "holds user state" in lines[0] and "the broker lost its topics" in lines[0] and "--data-dir" in lines[0]
