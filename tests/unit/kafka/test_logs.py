"""librdkafka's log: silent by default, shown on request, and rate-bounded in a long-running worker."""

from __future__ import annotations

import logging
import time

from scorer.kafka import Publisher, RateLimit, limit_log_rates
from scorer.kafka import logs
from scorer.settings import Settings
from scorer.tools import free_port


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _serve_callbacks(publisher: Publisher, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        publisher.poll()
        time.sleep(0.05)


def test_librdkafka_lines_go_to_the_scorer_logger_only(capfd) -> None:
    collect = Collect()
    logger = logs.librdkafka_logger()
    # Listening from the start: librdkafka's reconnect backoff grows, so a later window may see no attempt.
    logger.addHandler(collect)
    try:
        publisher = Publisher(Settings(broker=f"127.0.0.1:{free_port()}"))
        _serve_callbacks(publisher, 3.0)
    finally:
        logger.removeHandler(collect)
    # Nothing on stderr, although librdkafka tried and failed to connect: its lines went to the logger.
    assert "rdkafka" not in capfd.readouterr().err
    assert any("Connection refused" in line or "Connect to" in line for line in collect.lines), collect.lines
    assert publisher.broker_reachable is False and publisher.unreachable_since is not None


def test_a_rate_limit_on_every_module_logger_of_a_library() -> None:
    logging.getLogger("retrylib.conn")
    logging.getLogger("retrylib.consumer.fetcher")
    limit = RateLimit(burst=2, period_s=60)
    try:
        names = limit_log_rates(limit, prefixes=("retrylib",))
        assert set(names) >= {"retrylib.conn", "retrylib.consumer.fetcher"}
        collect = Collect()
        logger = logging.getLogger("retrylib.conn")
        logger.addHandler(collect)
        logger.propagate = False
        for _ in range(50):
            logger.error("Unable connect to node with id %s", 111)
        assert collect.lines == ["Unable connect to node with id 111"] * 2
    finally:
        for name in ("retrylib", "retrylib.conn", "retrylib.consumer.fetcher"):
            logging.getLogger(name).removeFilter(limit)
