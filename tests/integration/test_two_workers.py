"""Two workers share the partitions; either answers for any user through Faust's table routing."""

import json
import time
import urllib.request

import orjson

from scorer.tools import free_port, health
from tests.integration.conftest import consume, producer

T0 = 1_767_225_600_000
USERS = [f"user-{u}" for u in range(24)]


def wait_for_split(settings, second_settings):
    """Wait for the rebalance that splits the partitions between the two workers."""
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


def test_each_worker_answers_for_users_it_does_not_own(settings, start_worker_for):
    first = start_worker_for(settings)
    second_settings = settings.replace(web_port=free_port())
    second = start_worker_for(second_settings)
    wait_for_split(settings, second_settings)

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


def models(worker_settings):
    with urllib.request.urlopen(f"http://127.0.0.1:{worker_settings.web_port}/models", timeout=10) as response:
        return json.loads(response.read())


def segments(worker_settings):
    with urllib.request.urlopen(f"http://127.0.0.1:{worker_settings.web_port}/segments", timeout=10) as response:
        return json.loads(response.read())


def test_shared_training_teaches_every_worker_every_example(settings, start_worker_for):
    settings = settings.replace(training="shared", conversion_window_s=60.0)
    second_settings = settings.replace(web_port=free_port())
    start_worker_for(settings)
    start_worker_for(second_settings)
    wait_for_split(settings, second_settings)

    out = producer(settings)
    clicks = purchases = 0
    for i in range(400):
        user = USERS[i % len(USERS)]
        click = {"event_id": f"c{i}", "user_id": user, "ts": T0 + i * 2_000, "type": "product_view", "item_id": f"i{i % 9}"}
        out.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(click))
        clicks += 1
        if i % 40 == 0:
            order = {"event_id": f"p{i}", "user_id": user, "ts": T0 + i * 2_000 + 500, "order_id": f"o{i}",
                     "items": [{"item_id": f"i{i % 9}", "price": 3.0}]}
            out.produce(settings.topic_purchases, key=user.encode(), value=orjson.dumps(order))
            purchases += 1
    for u, user in enumerate(USERS):  # every user buys once at the end: each worker owns about half of them
        order = {"event_id": f"q{u}", "user_id": user, "ts": T0 + 800_000 + u, "order_id": f"q{u}",
                 "items": [{"item_id": "i1", "price": 4.0}]}
        out.produce(settings.topic_purchases, key=user.encode(), value=orjson.dumps(order))
        purchases += 1
    out.flush(10)
    assert len(consume(settings, settings.topic_scores_propensity, expected=clicks)) == clicks

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        a, b = models(settings), models(second_settings)
        published = a["training"]["published"] + b["training"]["published"]
        learned = (a["propensity"]["champion"]["learned"], b["propensity"]["champion"]["learned"])
        if published and learned == (published, published) and a["clv"]["sample"] == b["clv"]["sample"] == len(USERS):
            break
        time.sleep(0.5)
    # Both workers resolved examples of their own partitions, and both learned all of them.
    assert a["training"]["published"] > 0 and b["training"]["published"] > 0
    assert learned == (published, published)
    # Same seed, same examples, same order: the same model, down to its version.
    assert a["propensity"]["champion"]["version"] == b["propensity"]["champion"]["version"]
    # The lifetime-value sample is shared the same way: each worker holds every purchaser, not its half.
    assert a["clv"]["sample"] == b["clv"]["sample"] == len(USERS)
    assert a["clv"]["version"] == b["clv"]["version"]
    # Segment updates too: both workers learned every worker's, into the same quantiles.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seg_a, seg_b = segments(settings), segments(second_settings)
        if seg_a["updates_learned"] == seg_b["updates_learned"] and seg_a["rfm_cuts"] == seg_b["rfm_cuts"]:
            break
        time.sleep(0.5)
    own = [int(doc["model_version"].rsplit(".", 1)[1]) for doc in (seg_a, seg_b)]
    assert all(own) and seg_a["updates_learned"] == seg_b["updates_learned"] == sum(own)
    assert seg_a["rfm_cuts"] == seg_b["rfm_cuts"]
    # The training topic holds every example, one customer summary per purchase and every segment update.
    by_key: dict[bytes | None, int] = {}
    for message in consume(settings, settings.topic_training, expected=published + purchases + sum(own), timeout_s=20):
        by_key[message.key()] = by_key.get(message.key(), 0) + 1
    assert by_key == {None: published, b"clv": purchases, b"seg": sum(own)}
