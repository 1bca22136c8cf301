"""``scorer demo`` leaves nothing behind, however it is stopped, and a second demo after a killed one works.

Runs the real command in a subprocess, as a user would, on the embedded broker it starts itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scorer.tools import free_port, health
from scorer.settings import Settings


def _children(pid: int) -> dict[int, str]:
    """Every descendant of ``pid`` now, with its start time (a pid may be reused later)."""
    parents: dict[int, int] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        starts[int(entry.name)] = fields[19]
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found[child] = starts[child]
                frontier.append(child)
    return found


def _alive(pid: int, start: str) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == start and fields[0] != "Z"


def _start_demo(tmp_path: Path, web_port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SCORER_WEB_PORT": str(web_port), "SCORER_DATA_DIR": str(tmp_path / "data")}
    return subprocess.Popen(
        [sys.executable, "-m", "scorer", "demo", "--rate", "300"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_for_scores(demo: subprocess.Popen[bytes], web_port: int, timeout_s: float = 90.0) -> dict:
    settings = Settings(web_port=web_port)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert demo.poll() is None, f"the demo exited early: {demo.stderr.read().decode(errors='replace') if demo.stderr else ''}"
        doc = health(settings, timeout_s=1.0)
        if doc and doc.get("scored", 0) > 0:
            return doc
        time.sleep(0.5)
    raise AssertionError("the demo's worker scored nothing")


def _stop_and_check(demo: subprocess.Popen[bytes], web_port: int, how: signal.Signals) -> None:
    """Wait for live scores from the demo's own worker, stop the demo with ``how``, and find none of its children."""
    try:
        doc = _wait_for_scores(demo, web_port)
        children = _children(demo.pid)
        # The broker and the worker, and the worker that answers is this demo's own.
        assert len(children) >= 2 and doc["pid"] in children
        demo.send_signal(how)
        code = demo.wait(timeout=60)
        # Stopping the live table is the demo's normal end (0), whatever the signal that asked for it;
        # a signal that lands while the demo is between phases ends it as interrupted (130).
        assert code == -signal.SIGKILL if how == signal.SIGKILL else code in (0, 130)
        deadline = time.monotonic() + 30
        while any(_alive(pid, start) for pid, start in children.items()) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid, start in children.items() if _alive(pid, start)]
        assert not left, f"processes left behind by a demo stopped with {how.name}: {left}"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def test_demos_stopped_by_sigkill_sigterm_and_sighup_leave_no_process_and_the_next_one_scores(tmp_path: Path) -> None:
    # One port and one data directory throughout: each demo starts where the one before was killed.
    web_port = free_port()
    for how in (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP):
        _stop_and_check(_start_demo(tmp_path, web_port), web_port, how)
