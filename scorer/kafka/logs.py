"""Where librdkafka's own log lines go: nowhere by default, to ``--verbose`` on demand, rate-bounded in the worker.

An unreachable broker makes librdkafka log every failed connection attempt of every
client (about 290 lines in 15 s for one ``scorer replay``). Those lines repeat what the
one-line error of the command already says, so clients hand them to the Python logger
``scorer.librdkafka`` instead of stderr; the CLI leaves that logger silent unless
``--verbose``, and a long-running worker lets through at most a few lines a minute per
kind of message (:class:`RateLimit`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["LIBRDKAFKA", "RateLimit", "client_logging", "librdkafka_logger", "limit_log_rates", "show_librdkafka_log"]

#: The Python logger every librdkafka client of the scorer logs to.
LIBRDKAFKA = "scorer.librdkafka"

_logger = logging.getLogger(LIBRDKAFKA)
# Silent until asked: without a handler of its own Python's last-resort handler would print every line.
_logger.addHandler(logging.NullHandler())
_logger.propagate = False


def librdkafka_logger() -> logging.Logger:
    return _logger


def show_librdkafka_log(limit: logging.Filter | None = None, handler: logging.Handler | None = None) -> None:
    """Let librdkafka's lines through: to ``handler``, or to the root logger's handlers; through ``limit`` if given."""
    if limit is not None:
        _logger.addFilter(limit)
    if handler is not None:
        _logger.addHandler(handler)
    else:
        _logger.propagate = True


def client_logging() -> dict[str, object]:
    """librdkafka properties that route a client's log through :func:`librdkafka_logger`."""
    return {"logger": librdkafka_logger()}


class RateLimit(logging.Filter):
    """Let through at most ``burst`` records per ``period_s`` for each message template.

    The first dropped record of a period is followed, once the period ends, by a count of
    what was dropped, so a bounded log still says how bad it was.

    >>> now = [0.0]
    >>> limit = RateLimit(burst=2, period_s=60, clock=lambda: now[0])
    >>> record = lambda: logging.LogRecord("x", logging.ERROR, "f", 1, "broker down: %s", ("b1",), None)
    >>> [limit.filter(record()) for _ in range(4)]
    [True, True, False, False]
    >>> now[0] = 61.0
    >>> again = record()
    >>> limit.filter(again), again.getMessage()
    (True, 'broker down: b1 (2 similar lines dropped in the last 60s)')
    """

    def __init__(self, burst: int = 5, period_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.period_s = period_s
        self._clock = clock
        self._windows: dict[tuple[str, object], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        key = (record.name, record.msg)
        window = self._windows.get(key)
        if window is None or now - window[0] >= self.period_s:
            dropped = int(window[2]) if window is not None else 0
            self._windows[key] = [now, 1, 0]
            if dropped:
                record.msg = f"{record.msg} ({dropped} similar lines dropped in the last {self.period_s:.0f}s)"
            if len(self._windows) > 1000:  # templates are few; guard against ones that embed data
                self._windows = {key: self._windows[key]}
            return True
        if window[1] < self.burst:
            window[1] += 1
            return True
        window[2] += 1
        return False


#: Loggers that repeat one line per retry while the broker is away (aiokafka about 40 a second).
RETRYING_LOGGERS = ("aiokafka", "faust", "mode")


def limit_log_rates(limit: logging.Filter, prefixes: tuple[str, ...] = RETRYING_LOGGERS) -> list[str]:
    """Put ``limit`` on every logger already created under ``prefixes``; returns their names.

    A logger's filters see only what is logged on that very logger, so each module
    logger gets it (they are created when their modules are imported).
    """
    names = [
        name
        for name in list(logging.Logger.manager.loggerDict)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)
    ]
    for name in names:
        logging.getLogger(name).addFilter(limit)
    return names
