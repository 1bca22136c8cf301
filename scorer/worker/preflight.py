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
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from scorer.settings import Settings

__all__ = [
    "StartupError",
    "changelog_topic",
    "check_state_has_changelog",
    "claim_data_dir",
    "claim_web_port",
    "port_in_use",
    "remember_changelog_id",
]


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


def _held_tables(settings: Settings, table: str) -> tuple[Path, list[Path]]:
    tables = app_dir(settings) / "v1" / "tables"
    return tables, (sorted(tables.glob(f"{table}-*.db")) if tables.is_dir() else [])


def _id_file(settings: Settings, table: str) -> Path:
    return app_dir(settings) / f"{table}-changelog.topic-id"


def check_state_has_changelog(settings: Settings, table: str, changelog_id: str | None) -> None:
    """Refuse local RocksDB state whose changelog topic the broker no longer has, or has anew.

    That state was built from topics that are gone (a memory-only broker restarted, or a
    cluster rebuilt): its offsets point past the new topics' ends. ``changelog_id`` is the
    broker's id of the changelog topic now (None: no such topic); the id the state was
    built against is kept beside it (see :func:`remember_changelog_id`), and a topic
    created again gets a new id.
    """
    if settings.store != "rocksdb":
        return
    tables, held = _held_tables(settings, table)
    if not held:
        return
    topic = changelog_topic(settings, table)
    remembered = _id_file(settings, table)
    known = remembered.read_text(encoding="utf-8").strip() if remembered.is_file() else None
    if changelog_id is None:
        what = f"the broker has no topic {topic!r}"
    elif known is not None and known != changelog_id:
        what = f"the broker's topic {topic!r} is not the one that state was built from (created again)"
    else:
        return
    raise StartupError(
        f"{tables} holds user state, but {what}: the broker lost its topics (the embedded broker keeps "
        "none across a restart). Delete that directory to start afresh, or point --data-dir / SCORER_DATA_DIR elsewhere"
    )


def remember_changelog_id(
    settings: Settings, table: str, lookup: Callable[[], str | None], wait_s: float = 120.0, every_s: float = 2.0
) -> threading.Thread | None:
    """Record, beside the local state, the id of the changelog topic it is built from.

    Faust creates the changelog once the worker joins its group, so the id is looked up in
    the background until the topic exists (at most ``wait_s``). An id already recorded
    stays: it names the topic the state was first built from.
    """
    if settings.store != "rocksdb" or _id_file(settings, table).is_file():
        return None
    path = _id_file(settings, table)

    def record() -> None:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                found = lookup()
            except Exception:  # noqa: BLE001 - a broker outage here only delays the record
                found = None
            if found is not None:
                path.write_text(found + "\n", encoding="utf-8")
                return
            time.sleep(every_s)

    thread = threading.Thread(target=record, name="remember-changelog-id", daemon=True)
    thread.start()
    return thread
