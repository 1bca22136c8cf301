"""What no input can do to a live worker on the broker: move a clock, poison the model, undo an erasure.

One worker, one run, several users on purpose-built paths (event times are the wall clock,
as live traffic's are):

- a click dated decades ahead is dead-lettered (``future_timestamp``); every other user and
  every opt-out stays in force;
- a click more than the lateness bound behind its partition's clock is scored as usual and
  counted in ``scorer_events_late_total``;
- a purchase priced 1e50 is dead-lettered (``out_of_range``) and every later score is a finite
  probability;
- clicks dated before a user's erasure and read after it publish nothing and bring nothing back;
- two event ids whose CRC32 collide (``plumless``, ``buckeroo``) are both scored.
"""

import math
import time
import urllib.request

import orjson

from scorer.events import partition_for
from tests.integration.conftest import consume, producer, user_status, wait_for_health


def _click(event_id: str, user: str, ts: int, **extra) -> dict:
    return {"event_id": event_id, "user_id": user, "ts": ts, "type": "product_view", "item_id": "i1", **extra}


def _metric(settings, name: str, topic: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name) and f'topic="{topic}"' in line:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_no_input_moves_a_clock_poisons_the_model_or_undoes_an_erasure(settings, start_worker_for):
    start_worker_for(settings)
    out = producer(settings)
    now = int(time.time() * 1000)
    partitions = settings.partitions
    # Users that share partition 0 with the far-future click, one of them opted out.
    neighbours = [u for u in (f"n{i}" for i in range(200)) if partition_for(u.encode(), partitions) == 0][:3]
    opted_out = neighbours[0]
    future_user = next(u for u in (f"f{i}" for i in range(200)) if partition_for(u.encode(), partitions) == 0)

    def send(topic: str, doc: dict) -> None:
        out.produce(topic, key=doc["user_id"].encode(), value=orjson.dumps(doc))

    # Each step waits for the last: across topics, the order of arrival is the broker's.
    for index, user in enumerate(neighbours):
        send(settings.topic_clickstream, _click(f"{user}-a", user, now + index))
    send(settings.topic_clickstream, _click("erased-a", "erased", now))
    out.flush(10)
    wait_for_health(settings, lambda d: d["accounting"]["scored"] >= 4, "the first clicks")
    send(settings.topic_consent, {"event_id": "k-out", "user_id": opted_out, "ts": now + 10, "action": "opt_out"})
    send(settings.topic_consent, {"event_id": "k-erase", "user_id": "erased", "ts": now + 20_000, "action": "erase"})
    out.flush(10)
    wait_for_health(settings, lambda d: d["accounting"]["consent_applied"] >= 2, "the consent requests")

    # A clock decades ahead, a late click, a poisonous price, clicks from before the erasure.
    send(settings.topic_clickstream, _click("far-future", future_user, now + 50 * 365 * 86_400_000))
    send(settings.topic_clickstream, _click("late", neighbours[1], now - 2 * 3_600_000))
    send(settings.topic_purchases, {"event_id": "p-huge", "user_id": neighbours[2], "ts": now + 1_000, "order_id": "o1",
                                    "items": [{"item_id": "i1", "price": 1e50}]})
    send(settings.topic_clickstream, _click("erased-b", "erased", now + 5_000))
    for user in neighbours:
        send(settings.topic_clickstream, _click(f"{user}-b", user, now + 30_000))
    send(settings.topic_clickstream, _click("plumless", "collide", now + 40_000))
    send(settings.topic_clickstream, _click("buckeroo", "collide", now + 41_000))
    out.flush(10)
    doc = wait_for_health(settings, lambda d: d["accounting"]["consumed"] >= 15 and d["accounting"]["buffered"] == 0, "every message")

    accounting = doc["accounting"]
    assert accounting["unaccounted"] == 0
    assert doc["rejected"] == {"future_timestamp": 1, "out_of_range": 1}
    assert accounting["erased"] == 1 and accounting["suppressed"] == 1

    published = consume(settings, settings.topic_scores_propensity, expected=11, timeout_s=30)
    scores = [orjson.loads(m.value()) for m in published if m.value() is not None]
    # The compacted topic's last word on the erased user is a tombstone.
    assert [m.value() for m in published if m.key() == b"erased"][-1] is None
    scored_ids = {score["event_id"] for score in scores}
    # n0 opted out before n0-b: suppressed; erased-b is from before the erasure; far-future dead-lettered.
    # The opted-out user's second click is suppressed, the click from before the erasure
    # changes nothing, the far-future click is dead-lettered.
    assert scored_ids == {*(f"{user}-a" for user in neighbours), "erased-a", "late",
                          f"{neighbours[1]}-b", f"{neighbours[2]}-b", "plumless", "buckeroo"}
    assert all(isinstance(s["score"], float) and math.isfinite(s["score"]) and 0.0 <= s["score"] <= 1.0 for s in scores)
    assert _metric(settings, "scorer_events_late_total", settings.topic_clickstream) >= 1
    # The partition's other users are all still in state; the erased user is unknown.
    assert [user_status(settings, user) for user in neighbours[1:]] == [200, 200]
    assert user_status(settings, "erased") == 404
