"""``scorer demo``: broker, worker and synthetic traffic in one command, with live scores."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
from confluent_kafka import Consumer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from events.synthetic import TrafficGenerator
from streams.broker import EmbeddedBroker, free_port
from streams.publisher import Publisher
from streams.settings import Settings
from streams.supervise import start_worker, stop_process, wait_until_assigned
from streams.topics import create_topics
from streams.traffic import send_events


def _render(latest: dict[str, dict], sent: int, received: int, started: float) -> Table:
    elapsed = max(time.monotonic() - started, 1e-9)
    table = Table(
        title=f"scores.propensity  |  events sent {sent:,}  |  scores {received:,} ({received / elapsed:,.0f}/s)",
        caption="Ctrl-C to stop",
    )
    for column in ("user", "score", "model_version", "event_id", "lag ms"):
        table.add_column(column, justify="right" if column in ("score", "lag ms") else "left")
    for doc in sorted(latest.values(), key=lambda d: d["score"], reverse=True)[:15]:
        table.add_row(
            doc["user_id"],
            f"{doc['score']:.3f}",
            doc["model_version"],
            doc["event_id"],
            f"{doc['_latency_ms']:.0f}",
        )
    return table


def run_demo(
    base: Settings, port: int = 0, duration: float | None = None, rate: float = 200.0, users: int = 500, seed: int = 42
) -> None:
    console = Console()
    port = port or free_port()
    data_dir = Path(base.data_dir) / "demo"
    settings = base.replace(
        broker=f"127.0.0.1:{port}", store="memory", data_dir=str(data_dir), session_timeout_s=6.0
    )
    console.print(f"[bold]embedded broker[/] on {settings.broker} (memory only)")
    with EmbeddedBroker(port, log_path=data_dir / "broker.log"):
        create_topics(settings)
        worker_log = data_dir / "worker.log"
        worker = start_worker(settings, worker_log)
        try:
            with console.status("starting the worker (joining its consumer group)..."):
                wait_until_assigned(settings, worker)
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
    consumer = Consumer(
        {
            "bootstrap.servers": settings.broker,
            "group.id": f"scorer-demo-{time.time_ns()}",
            "auto.offset.reset": "latest",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([settings.topic_scores_propensity])
    latest: dict[str, dict] = {}
    received = 0
    started = time.monotonic()
    try:
        with Live(_render(latest, 0, 0, started), console=console, refresh_per_second=4) as live:
            while duration is None or time.monotonic() - started < duration:
                message = consumer.poll(0.25)
                if message is not None and not message.error():
                    doc = orjson.loads(message.value())
                    doc["_latency_ms"] = time.time() * 1000 - doc["scored_at"] + 0.0
                    latest[doc["user_id"]] = doc
                    received += 1
                live.update(_render(latest, sent[0], received, started))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        producer.join(timeout=10)
        consumer.close()
    console.print(f"sent {sent[0]:,} events, received {received:,} scores")
