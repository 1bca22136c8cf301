"""Opt-out, opt-in and erasure, end to end on the embedded broker."""

import json
import time
import urllib.error
import urllib.request

import orjson

from tests.integration.conftest import consume, producer

T0 = 1_767_225_600_000


def click(i: int, user: str = "u1") -> bytes:
    return orjson.dumps({"event_id": f"{user}-{i}", "user_id": user, "ts": T0 + i * 1000, "type": "product_view", "item_id": "i1"})


def consent(action: str, i: int, user: str = "u1") -> bytes:
    return orjson.dumps({"event_id": f"{action}-{i}", "user_id": user, "ts": T0 + i * 1000, "action": action})


def user_view(settings, user: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/users/{user}", timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(predicate, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)


def scored_ids(settings, expected: int, timeout_s: float = 20) -> list[str]:
    messages = consume(settings, settings.topic_scores_propensity, expected=expected, timeout_s=timeout_s)
    return [orjson.loads(m.value())["event_id"] for m in messages if m.value() is not None]


def test_opt_out_then_opt_in_then_erase(settings, start_worker_for):
    start_worker_for(settings)
    out = producer(settings)

    def send(topic, value):
        out.produce(topic, key=orjson.loads(value)["user_id"].encode(), value=value)
        out.flush(10)

    send(settings.topic_clickstream, click(1))
    send(settings.topic_clickstream, click(1, "u2"))
    assert sorted(scored_ids(settings, 2)) == ["u1-1", "u2-1"]

    # Opted out: no score, and the click changes nothing. Kafka orders messages within
    # a topic partition only, so the test waits until the request is applied.
    send(settings.topic_consent, consent("opt_out", 2))
    wait_for(lambda: user_view(settings, "u1")["opted_out"] is True)
    send(settings.topic_clickstream, click(3))
    send(settings.topic_clickstream, click(3, "u2"))
    assert sorted(scored_ids(settings, 4, timeout_s=10)) == ["u1-1", "u2-1", "u2-3"]
    view = user_view(settings, "u1")
    assert view["opted_out"] is True and view["features"]["session_events"] == 1 and view["pending_examples"] == 0

    # Opted in again: scoring resumes.
    send(settings.topic_consent, consent("opt_in", 4))
    wait_for(lambda: user_view(settings, "u1")["opted_out"] is False)
    send(settings.topic_clickstream, click(5))
    assert sorted(scored_ids(settings, 4)) == ["u1-1", "u1-5", "u2-1", "u2-3"]
    assert user_view(settings, "u1")["features"]["session_events"] == 2

    # Erased: state gone, tombstones on both score topics, other users untouched.
    requested = time.time()
    send(settings.topic_consent, consent("erase", 6))
    messages = consume(settings, settings.topic_scores_propensity, expected=5)
    tombstones = [m for m in messages if m.value() is None]
    assert [m.key() for m in tombstones] == [b"u1"]
    lists = consume(settings, settings.topic_scores_recommendations, expected=100, timeout_s=8)
    assert [m.key() for m in lists if m.value() is None] == [b"u1"]
    u1 = [m for m in lists if m.key() == b"u1"]
    assert u1[-1].value() is None
    # Click 3 came while opted out; click 5 within 5 s of click 1's list is rate-limited.
    assert [orjson.loads(m.value())["event_id"] for m in u1[:-1]] == ["u1-1"]
    assert user_view(settings, "u1") == 404
    assert user_view(settings, "u2")["features"]["session_events"] == 2
    assert time.time() - requested < 30
