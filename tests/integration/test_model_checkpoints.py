"""The propensity model (with the lifetime-value sample, the segment model and the offer policy) survives a restart through its sealed snapshot, and a forged one is refused."""

import time
import urllib.error
import urllib.request

import orjson

from tests.integration.conftest import consume, producer

T0 = 1_767_225_600_000
KEY = "0123456789abcdef" * 4


def events(start: int, stop: int) -> list[tuple[str, dict]]:
    """Clicks 5 s apart over 10 users; every fifth user buys now and then."""
    out = []
    for i in range(start, stop):
        user = f"user-{i % 10}"
        out.append(("click", {"event_id": f"c{i}", "user_id": user, "ts": T0 + i * 5_000, "type": "product_view",
                              "item_id": f"i{i % 7}", "price": 5.0 + i % 3}))
        if i % 50 == 0:
            out.append(("purchase", {"event_id": f"p{i}", "user_id": user, "ts": T0 + i * 5_000 + 1_000,
                                     "order_id": f"o{i}", "items": [{"item_id": f"i{i % 7}", "price": 5.0}]}))
    return out


def send(settings, batch):
    out = producer(settings)
    for kind, event in batch:
        topic = settings.topic_clickstream if kind == "click" else settings.topic_purchases
        out.produce(topic, key=event["user_id"].encode(), value=orjson.dumps(event))
    out.flush(10)


def get(settings, path, token=None):
    request = urllib.request.Request(f"http://127.0.0.1:{settings.web_port}{path}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return orjson.loads(response.read())


def test_model_resumes_after_restart_and_refuses_a_snapshot_sealed_with_another_key(settings, start_worker_for):
    # A one-minute window, so that examples resolve and are learned within the stream.
    settings = settings.replace(model_key=KEY, conversion_window_s=60.0, api_token="t0ken")
    first, second = events(0, 300), events(300, 400)

    worker = start_worker_for(settings)
    out = producer(settings)
    out.produce(settings.topic_offers, key=b"ten_off", value=orjson.dumps({"offer_id": "ten_off"}))
    out.produce(settings.topic_offers, key=b"free_ship", value=orjson.dumps({"offer_id": "free_ship"}))
    out.flush(10)
    deadline = time.monotonic() + 30
    while len(get(settings, "/offers", token="t0ken")["offers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    send(settings, first)
    clicks = sum(kind == "click" for kind, _ in first)
    assert len(consume(settings, settings.topic_scores_propensity, expected=clicks)) == clicks
    try:
        get(settings, "/models")
        raise AssertionError("GET /models answered without the bearer token")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    before = get(settings, "/models", token="t0ken")
    learned = before["propensity"]["champion"]["learned"]
    assert learned > 0
    assert before["quality"]["cumulative"]["count"] == learned
    assert before["clv"]["sample"] == 1  # user-0 buys
    offers_before, segments_before = get(settings, "/offers", token="t0ken"), get(settings, "/segments", token="t0ken")
    assert offers_before["resolved"] > 0 and segments_before["updates_learned"] > 0
    assert worker.stop() == 0  # a graceful stop writes a last snapshot

    worker = start_worker_for(settings)
    after = get(settings, "/models", token="t0ken")
    assert after["checkpoint"]["resumed_from"]["model_version"] == before["propensity"]["champion"]["version"]
    assert after["propensity"]["champion"]["learned"] == learned
    assert after["quality"]["cumulative"]["count"] == learned
    # The lifetime-value sample and parameters ride in the same snapshot.
    assert after["clv"] == before["clv"]
    # So do the offer policy (its version counts what it learned) and the segment model's quantiles.
    offers_after, segments_after = get(settings, "/offers", token="t0ken"), get(settings, "/segments", token="t0ken")
    assert offers_after["policy_version"] == offers_before["policy_version"]
    assert offers_after["by_segment"] == offers_before["by_segment"]
    assert segments_after["updates_learned"] == segments_before["updates_learned"]
    assert segments_after["rfm_cuts"] == segments_before["rfm_cuts"]
    send(settings, second)
    total = clicks + sum(kind == "click" for kind, _ in second)
    scores = [orjson.loads(m.value()) for m in consume(settings, settings.topic_scores_propensity, expected=total)]
    lineage = before["propensity"]["champion"]["version"].rsplit(".", 1)[0]
    resumed = [s for s in scores if s["event_id"] in {e["event_id"] for _, e in second}]
    assert resumed and all(s["model_version"].rsplit(".", 1)[0] == lineage for s in resumed)
    assert max(int(s["model_version"].rsplit(".", 1)[1]) for s in resumed) > learned
    assert all(len(s["reasons"]) == 3 for s in resumed)
    assert worker.stop() == 0

    forged = settings.replace(model_key="another key entirely")
    worker = start_worker_for(forged)
    fresh = get(forged, "/models", token="t0ken")
    assert fresh["checkpoint"]["resumed_from"] is None
    assert fresh["propensity"]["champion"]["learned"] == 0
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=10).read().decode()
    rejected = [line for line in metrics.splitlines() if line.startswith("scorer_model_checkpoints_rejected_total ")]
    # Every snapshot on the topic was sealed under the first key: each one is refused.
    assert rejected and float(rejected[0].split()[1]) >= 2
    worker.stop()
