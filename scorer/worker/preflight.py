"""Checks a worker makes before it starts, each failing in one line that names the setting to change.

A second worker on one host would otherwise die with a traceback on the busy web
port, or with RocksDB's lock error some 40 s later; a worker whose broker lost its
topics (the embedded broker keeps none across a restart) would crash on Faust's
consistency check within seconds of starting.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from scorer.settings import Settings

__all__ = ["StartupError", "changelog_topic", "check_state_has_changelog", "claim_data_dir", "claim_web_port", "port_in_use"]


class StartupError(RuntimeError):
    """The worker cannot start as configured; the message says which setting to change."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on ``host:port`` or holds it bound.

    >>> with socket.socket() as held:
    ...     held.bind(("127.0.0.1", 0)); held.listen()
    ...     port_in_use(held.getsockname()[1])
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As a server binds: a port left in TIME_WAIT by a closed connection is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def claim_web_port(settings: Settings) -> None:
    if port_in_use(settings.web_port, settings.web_host):
        raise StartupError(
            f"port {settings.web_port} on {settings.web_host} is in use (another worker?); "
            "give this worker another one with --web-port or SCORER_WEB_PORT"
        )


def app_dir(settings: Settings) -> Path:
    """The worker's local directory: one per app, since two apps sharing a table would read each other's users."""
    return Path(settings.data_dir) / settings.app_id


def claim_data_dir(settings: Settings) -> IO[str] | None:
    """Lock the app's data directory for this process (RocksDB store only); keep the returned file open.

    RocksDB allows one process per database; the lock says so at once and names the
    process that holds it, where RocksDB would fail only once the table opens.
    """
    if settings.store != "rocksdb":
        return None
    directory = app_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / "worker.lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = (handle.read().split() or ["unknown"])[-1]
        handle.close()
        raise StartupError(
            f"{directory} is in use by another worker (pid {holder}); "
            "give this one its own directory with --data-dir or SCORER_DATA_DIR"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def changelog_topic(settings: Settings, table: str) -> str:
    """Faust's name for a table's changelog topic."""
    return f"{settings.app_id}-{table}-changelog"


def check_state_has_changelog(settings: Settings, table: str, existing_topics: set[str]) -> None:
    """Refuse local RocksDB state whose changelog topic the broker no longer has.

    That state was built from topics that are gone (a memory-only broker restarted, or a
    cluster rebuilt): its offsets point past the new topics' ends, which Faust rejects.
    """
    if settings.store != "rocksdb":
        return
    tables = app_dir(settings) / "v1" / "tables"
    held = sorted(tables.glob(f"{table}-*.db")) if tables.is_dir() else []
    topic = changelog_topic(settings, table)
    if held and topic not in existing_topics:
        raise StartupError(
            f"{tables} holds user state, but the broker has no topic {topic!r}: the broker lost its topics "
            "(the embedded broker keeps none across a restart). Delete that directory to start afresh, "
            "or point --data-dir / SCORER_DATA_DIR elsewhere"
        )
