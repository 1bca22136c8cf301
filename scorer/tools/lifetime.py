"""How long the processes a command starts live: no longer than the command.

Every child (the embedded broker, a worker, the test Kafka) is started with
:func:`die_with_parent`, so the kernel stops it when its parent dies, even by
SIGKILL; and the commands that start children run under :func:`stop_on_signals`,
so SIGTERM and SIGHUP (a closed terminal) unwind them like Ctrl-C and their
``finally`` blocks stop the children in order.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Interrupted", "die_with_parent", "stop_on_signals"]

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for :class:`subprocess.Popen`: SIGTERM this child when its parent dies (Linux).

    Elsewhere it does nothing, and the signal handlers of :func:`stop_on_signals`
    remain the only guard.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # The parent may have died between fork and prctl: then nobody would send the signal.
    if os.getppid() == 1:
        os.kill(os.getpid(), signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the main thread was, like Ctrl-C's KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` (a KeyboardInterrupt)."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
