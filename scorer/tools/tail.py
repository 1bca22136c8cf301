"""A live terminal view of the score topics: ``scorer tail`` and the demo's screen."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

import orjson
from confluent_kafka import Consumer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from scorer.kafka import BrokerUnavailable, existing_topics, private_consumer
from scorer.settings import Settings


class ScoreBoard:
    """The latest propensity score and recommendation list per user."""

    def __init__(self, user: str | None = None, rows: int = 15) -> None:
        self.user = user
        self.rows = rows
        self.scores: dict[str, dict] = {}
        self.lists: dict[str, dict] = {}
        self.received = 0
        self.lists_received = 0
        self.started = time.monotonic()

    def add(self, topic_kind: str, value: bytes | None, key: bytes | None) -> None:
        if value is None:  # a tombstone: the user was erased
            user = key.decode(errors="replace") if key else ""
            self.scores.pop(user, None)
            self.lists.pop(user, None)
            return
        doc = orjson.loads(value)
        if self.user is not None and doc.get("user_id") != self.user:
            return
        if topic_kind == "propensity":
            self.received += 1
            self.scores[doc["user_id"]] = doc
        else:
            self.lists_received += 1
            self.lists[doc["user_id"]] = doc

    def render(self, header: str = "") -> Table:
        rate = self.received / max(time.monotonic() - self.started, 1e-9)
        table = Table(
            title=f"{header}scores received {self.received:,} ({rate:,.0f}/s), lists {self.lists_received:,}"
            + (f"  |  user {self.user}" if self.user else ""),
            caption="Ctrl-C to stop",
        )
        for column in ("user", "score", "model_version", "event", "recommended"):
            table.add_column(column, justify="right" if column == "score" else "left")
        latest = sorted(self.scores.values(), key=lambda d: d.get("scored_at", 0), reverse=True)[: self.rows]
        for doc in latest:
            items = self.lists.get(doc["user_id"], {}).get("items", [])
            table.add_row(
                doc["user_id"],
                f"{doc['score']:.3f}",
                doc["model_version"],
                doc["event_id"],
                ", ".join(str(i["item_id"]) for i in items[:3]),
            )
        return table


def score_consumer(settings: Settings, from_start: bool) -> Consumer:
    # A consumer waits forever for a broker, or a topic, that is not there; a tool says so at once.
    wanted = [settings.topic_scores_propensity, settings.topic_scores_recommendations]
    missing = [topic for topic in wanted if topic not in existing_topics(settings)]
    if missing:
        raise BrokerUnavailable(
            f"the broker at {settings.broker} has no topic {missing[0]!r} yet: start a worker, or run `scorer topics create`"
        )
    consumer = private_consumer(settings, "tail", from_start=from_start, **{"session.timeout.ms": 6000})
    consumer.subscribe([settings.topic_scores_propensity, settings.topic_scores_recommendations])
    return consumer


def tail(
    settings: Settings,
    board: ScoreBoard,
    duration: float | None = None,
    from_start: bool = False,
    header: Callable[[], str] = lambda: "",
    console: Console | None = None,
) -> ScoreBoard:
    """Show the board live until Ctrl-C or ``duration`` seconds."""
    kinds = {settings.topic_scores_propensity: "propensity", settings.topic_scores_recommendations: "recommendations"}
    consumer = score_consumer(settings, from_start)
    started = time.monotonic()
    try:
        with Live(board.render(header()), console=console, refresh_per_second=4) as live:
            while duration is None or time.monotonic() - started < duration:
                message = consumer.poll(0.25)
                if message is not None and not message.error():
                    board.add(kinds[message.topic()], message.value(), message.key())
                live.update(board.render(header()))
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return board


def tail_json(
    settings: Settings,
    user: str | None = None,
    duration: float | None = None,
    from_start: bool = False,
    out: IO[str] = sys.stdout,
) -> int:
    """Print each score and list as one JSON line, ``{"topic", "key", "value"}`` (``value`` null for a tombstone).

    Returns how many records were printed. Stops after ``duration`` seconds or on Ctrl-C.
    """
    consumer = score_consumer(settings, from_start)
    started = time.monotonic()
    printed = 0
    try:
        while duration is None or time.monotonic() - started < duration:
            message = consumer.poll(0.25)
            if message is None or message.error():
                continue
            key = message.key().decode(errors="replace") if message.key() is not None else None
            raw = message.value()
            value = orjson.loads(raw) if raw is not None else None
            if user is not None and key != user and (value or {}).get("user_id") != user:
                continue
            out.write(orjson.dumps({"topic": message.topic(), "key": key, "value": value}).decode() + "\n")
            out.flush()
            printed += 1
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return printed
