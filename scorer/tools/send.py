"""Send generated or recorded events to the input topics, keyed by user."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import orjson

from scorer.kafka import Publisher, PublishError
from scorer.settings import Settings


class SendInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, SIGHUP) while sending: how many events were sent, and how many the broker acknowledged."""

    def __init__(self, sent: int, flushed: int) -> None:
        super().__init__(f"interrupted: {sent:,} events sent, {flushed:,} of them flushed to the broker")
        self.sent = sent
        self.flushed = flushed


def send_events(
    publisher: Publisher,
    settings: Settings,
    events: Iterable[tuple[str, dict]],
    rate: float | None = None,
    speed: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_sent: Callable[[int], None] = lambda n: None,
) -> int:
    """Produce ``(kind, event)`` pairs to their topics, keyed by user.

    Paced at most ``rate`` events per second, or at ``speed`` times the pace
    of their event times, or as fast as possible. Returns how many were sent.
    ``kind`` is ``"click"`` or ``"purchase"``. Interrupted, it flushes what was
    sent (for 10 s at most, or until a second interrupt) and raises
    :class:`SendInterrupted` with both counts.
    """
    topics = {"click": settings.topic_clickstream, "purchase": settings.topic_purchases}
    started = time.monotonic()
    first_ts: int | None = None
    sent = 0
    delivered_before = publisher.delivered
    try:
        for kind, event in events:
            if should_stop():
                break
            publisher.produce(topics[kind], event["user_id"].encode(), orjson.dumps(event))
            sent += 1
            if sent % 100 == 0:
                publisher.poll()
                on_sent(sent)
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
            elif speed and isinstance(event.get("ts"), int):
                first_ts = event["ts"] if first_ts is None else first_ts
                ahead = (event["ts"] - first_ts) / 1000 / speed - (time.monotonic() - started)
            else:
                continue
            if ahead > 0:
                time.sleep(ahead)
    except KeyboardInterrupt:
        try:
            publisher.flush(timeout_s=10.0)
        except (PublishError, KeyboardInterrupt):
            pass
        raise SendInterrupted(sent, publisher.delivered - delivered_before) from None
    publisher.flush()
    on_sent(sent)
    return sent
