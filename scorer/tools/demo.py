"""``scorer demo``: broker, worker and synthetic traffic in one command, with live scores."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

from rich.console import Console

from scorer.datasets import TrafficGenerator
from scorer.tools.broker import BrokerError, EmbeddedBroker, free_port
from scorer.kafka import create_topics, Publisher
from scorer.settings import Settings
from scorer.tools.tail import ScoreBoard, tail
from scorer.tools.supervise import WorkerStartError, start_worker, stop_process, wait_until_assigned
from scorer.tools.send import send_events
from scorer.worker import port_in_use


def run_demo(
    base: Settings, port: int = 0, duration: float | None = None, rate: float = 200.0, users: int = 500, seed: int = 42
) -> None:
    console = Console()
    # Checked before anything starts: a worker left over from an earlier demo would answer on the
    # web port, and this demo would show its (empty) scores as its own.
    if port_in_use(base.web_port, base.web_host):
        raise BrokerError(
            f"port {base.web_port} (the worker's web port) is in use, perhaps by a worker of an earlier demo; "
            "stop it, or set SCORER_WEB_PORT to a free port"
        )
    if port and port_in_use(port):
        raise BrokerError(f"port {port} (the broker's) is in use; pick another with --port, or 0 for a free one")
    port = port or free_port()
    data_dir = Path(base.data_dir) / "demo"
    settings = base.replace(
        broker=f"127.0.0.1:{port}",
        store="memory",
        data_dir=str(data_dir),
        session_timeout_s=6.0,
        # The demo's broker keeps nothing after it stops, so a key of the moment is enough.
        model_key=base.model_key or secrets.token_hex(32),
    )
    console.print(f"[bold]embedded broker[/] on {settings.broker} (memory only)")
    with EmbeddedBroker(port, log_path=data_dir / "broker.log"):
        create_topics(settings)
        worker_log = data_dir / "worker.log"
        worker = start_worker(settings, worker_log)
        try:
            with console.status("starting the worker (joining its consumer group)..."):
                try:
                    wait_until_assigned(settings, worker)
                except (WorkerStartError, TimeoutError) as exc:
                    raise WorkerStartError(f"{exc}; its log: {worker_log}") from None
            console.print(f"[bold]worker[/] ready, http://127.0.0.1:{settings.web_port}/health, log {worker_log}")
            _show_scores(console, settings, duration, rate, users, seed)
        finally:
            stop_process(worker)


def _show_scores(console: Console, settings: Settings, duration: float | None, rate: float, users: int, seed: int) -> None:
    stop = threading.Event()
    sent = [0]
    generator = TrafficGenerator(users=users, items=max(50, users), seed=seed)

    def produce() -> None:
        send_events(
            Publisher(settings), settings, generator, rate=rate, should_stop=stop.is_set,
            on_sent=lambda n: sent.__setitem__(0, n),
        )

    producer = threading.Thread(target=produce, name="traffic", daemon=True)
    producer.start()
    try:
        board = tail(settings, ScoreBoard(), duration, header=lambda: f"events sent {sent[0]:,}  |  ", console=console)
    finally:
        stop.set()
        producer.join(timeout=10)
    console.print(f"sent {sent[0]:,} events, received {board.received:,} scores")
