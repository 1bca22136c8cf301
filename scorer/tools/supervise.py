"""Start a worker as a child process and wait until it owns partitions.

Used by ``scorer demo`` and by the integration tests, so both run the worker
exactly as a user would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from scorer.settings import Settings
from scorer.tools.lifetime import die_with_parent


class WorkerStartError(RuntimeError):
    """A supervised worker exited before it owned partitions, or another process answers on its port."""


def settings_environment(settings: Settings) -> dict[str, str]:
    """``SCORER_*`` variables that reproduce ``settings`` in a child process."""
    return {Settings.env_name(f.name): str(getattr(settings, f.name)) for f in dataclasses.fields(settings)}


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_environment(settings)}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "scorer", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: the parent decides when it stops (see EmbeddedBroker.start),
            # and the kernel stops it if the parent dies first.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def health(settings: Settings, timeout_s: float = 2.0) -> dict[str, Any] | None:
    """The worker's /health document, or None if it does not answer."""
    url = f"http://127.0.0.1:{settings.web_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_until_assigned(
    settings: Settings, process: subprocess.Popen[bytes], timeout_s: float = 60.0
) -> dict[str, Any]:
    """Block until the worker reports assigned partitions; raise if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise WorkerStartError(f"the worker exited with status {process.returncode} before it owned partitions")
        doc = health(settings)
        if doc and doc.get("pid") not in (None, process.pid):
            raise WorkerStartError(
                f"another worker (pid {doc['pid']}) answers on port {settings.web_port}; "
                "stop it, or give this one another SCORER_WEB_PORT / --web-port"
            )
        if doc and doc.get("assigned_partitions"):
            return doc
        time.sleep(0.25)
    raise TimeoutError(f"the worker owned no partitions after {timeout_s:.0f}s")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    """SIGTERM, then SIGKILL if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
