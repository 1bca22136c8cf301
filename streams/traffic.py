"""Send generated or recorded events to the input topics, keyed by user."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import orjson

from streams.publisher import Publisher
from streams.settings import Settings


def send_events(
    publisher: Publisher,
    settings: Settings,
    events: Iterable[tuple[str, dict]],
    rate: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_sent: Callable[[int], None] = lambda n: None,
) -> int:
    """Produce ``(kind, event)`` pairs to their topics, at most ``rate`` per second.

    Returns how many were sent. ``kind`` is ``"click"`` or ``"purchase"``.
    """
    topics = {"click": settings.topic_clickstream, "purchase": settings.topic_purchases}
    started = time.monotonic()
    sent = 0
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
            if ahead > 0:
                time.sleep(ahead)
    publisher.flush()
    on_sent(sent)
    return sent
