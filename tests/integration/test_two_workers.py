"""Two workers share the partitions; either answers for any user through Faust's table routing."""

import json
import time
import urllib.request

import orjson

from streams.broker import free_port
from streams.supervise import health
from tests.integration.conftest import consume, producer

T0 = 1_767_225_600_000
USERS = [f"user-{u}" for u in range(24)]


def test_each_worker_answers_for_users_it_does_not_own(settings, start_worker_for):
    first = start_worker_for(settings)
    second_settings = settings.replace(web_port=free_port())
    second = start_worker_for(second_settings)
    # Wait for the rebalance that splits the partitions between the two.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        a, b = health(settings), health(second_settings)
        if a and b and a["assigned_partitions"] and b["assigned_partitions"]:
            owned_a = {p for p in a["assigned_partitions"] if p.startswith(settings.topic_clickstream + ":")}
            owned_b = {p for p in b["assigned_partitions"] if p.startswith(settings.topic_clickstream + ":")}
            if owned_a and owned_b and not owned_a & owned_b:
                break
        time.sleep(0.5)
    else:
        raise AssertionError(f"partitions were not split: {a} {b}")

    out = producer(settings)
    for i, user in enumerate(USERS):
        event = {"event_id": f"e{i}", "user_id": user, "ts": T0 + i, "type": "product_view", "item_id": "i1", "category": "c1"}
        out.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(event))
    out.flush(10)
    assert len(consume(settings, settings.topic_scores_propensity, expected=len(USERS))) == len(USERS)
    scored = sum(health(s)["scored"] for s in (settings, second_settings))
    assert scored == len(USERS)

    for worker_settings in (settings, second_settings):
        for user in USERS:
            url = f"http://127.0.0.1:{worker_settings.web_port}/users/{user}"
            with urllib.request.urlopen(url, timeout=10) as response:
                doc = json.loads(response.read())
            assert doc["user_id"] == user and doc["features"]["item_views_by_user"] == 1
    assert first.process.poll() is None and second.process.poll() is None
