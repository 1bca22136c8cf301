"""During a broker outage the worker keeps answering /health, says the broker is unreachable, and logs at a bounded rate.

On an embedded broker of its own (the shared test broker must stay up for the other tests).
"""

from __future__ import annotations

import time
from pathlib import Path

from scorer.kafka import create_topics
from scorer.tools import EmbeddedBroker, free_port, health, start_worker, stop_process, wait_until_assigned
from tests.integration.conftest import isolated_settings


def test_health_answers_through_an_outage_and_the_log_stays_bounded(tmp_path: Path) -> None:
    port = free_port()
    broker = EmbeddedBroker(port, log_path=tmp_path / "broker.log").start()
    settings = isolated_settings(broker.bootstrap, tmp_path)
    log = tmp_path / "worker.log"
    create_topics(settings)
    worker = start_worker(settings, log)
    try:
        wait_until_assigned(settings, worker, timeout_s=90)
        before = health(settings)
        assert before is not None and before["broker"]["reachable"] is not False and before["status"] == "ok"
        broker.stop()
        lines_before = len(log.read_text(errors="replace").splitlines())
        started = time.monotonic()
        answers = []
        while time.monotonic() - started < 12:
            asked = time.monotonic()
            doc = health(settings, timeout_s=3.0)
            assert doc is not None, f"/health stopped answering {asked - started:.1f}s into the outage"
            answers.append(doc)
            time.sleep(1.0)
        outage_s = time.monotonic() - started
        assert answers[-1]["status"] == "broker_unreachable" and answers[-1]["broker"]["reachable"] is False
        assert answers[-1]["broker"]["unreachable_for_s"] > 5
        logged = len(log.read_text(errors="replace").splitlines()) - lines_before
        # Unbounded, aiokafka and librdkafka log about 75 lines a second here.
        assert logged < 8 * outage_s, f"{logged} log lines in {outage_s:.0f}s of outage"
    finally:
        # A graceful stop would wait for the absent broker; nothing of this worker is kept.
        worker.kill()
        stop_process(worker)
        broker.stop()
