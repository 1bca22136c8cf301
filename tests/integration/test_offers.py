"""Next-best offer on the broker: catalogue at run time, triggered and requested decisions, rewards, exposure."""

import json
import time
import urllib.error
import urllib.request

import orjson

from tests.integration.conftest import consume, producer

T0 = 1_767_225_600_000


def get(settings, path: str) -> tuple[int, dict | str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}{path}", timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if path != "/metrics" else body.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until(predicate, what: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_offers_through_the_broker_decided_on_views_and_on_request(settings, start_worker_for):
    settings = settings.replace(conversion_window_s=60.0, offers_min_interval_s=0.0)
    start_worker_for(settings)
    out = producer(settings)
    for offer in ("ten_off", "free_shipping"):
        out.produce(settings.topic_offers, key=offer.encode(), value=orjson.dumps({"offer_id": offer, "attributes": {"title": offer}}))
    out.flush(10)
    wait_until(lambda: len(get(settings, "/offers")[1]["offers"]) == 2, "the catalogue on GET /offers")

    view = {"event_id": "v1", "user_id": "u1", "ts": T0, "type": "product_view", "item_id": "i1", "category": "c1"}
    out.produce(settings.topic_clickstream, key=b"u1", value=orjson.dumps(view))
    out.flush(10)
    [triggered] = [orjson.loads(m.value()) for m in consume(settings, settings.topic_scores_offers, expected=1)]
    assert triggered["event_id"] == "v1" and triggered["offer_id"] in ("ten_off", "free_shipping")
    assert 0 < triggered["propensity"] <= 1

    # A page asks: the owner decides now, publishes the decision and answers with it.
    status, requested = get(settings, "/users/u1/offer")
    assert status == 200 and requested["event_id"].startswith("req-") and requested["offer_id"] in ("ten_off", "free_shipping")
    assert get(settings, "/users/nobody/offer")[0] == 404
    decisions = {orjson.loads(m.value())["decision_id"] for m in consume(settings, settings.topic_scores_offers, expected=2)}
    assert decisions == {triggered["decision_id"], requested["decision_id"]}

    # A click on the triggered decision within the window, then event time moves past both windows.
    feedback = {"decision_id": triggered["decision_id"], "user_id": "u1", "type": "click", "ts": T0 + 5_000}
    out.produce(settings.topic_offers_feedback, key=b"u1", value=orjson.dumps(feedback))
    out.flush(10)
    time.sleep(1.0)  # the feedback reader runs beside the scoring agent
    later = {"event_id": "v2", "user_id": "u1", "ts": T0 + 300_000, "type": "page_view"}
    out.produce(settings.topic_clickstream, key=b"u1", value=orjson.dumps(later))
    out.flush(10)
    summary = wait_until(lambda: (doc := get(settings, "/offers")[1])["resolved"] >= 2 and doc, "two resolved decisions")
    assert summary["decisions"] == 2 and summary["rewarded"] == 1 and summary["pending"] == 0
    segment = triggered["reasons"]["segment"]
    row = summary["by_segment"][segment][triggered["offer_id"]]
    assert row["decisions"] >= 1 and row["reward_rate"] > 0

    # The same exposure on /metrics, labelled by segment and offer.
    metrics = wait_until(
        lambda: (text := get(settings, "/metrics")[1]) and "scorer_offer_reward_rate{" in text and text, "exposure gauges"
    )
    line = f'scorer_offer_decisions{{offer="{triggered["offer_id"]}",segment="{segment}"}}'
    assert any(entry.startswith(line) and float(entry.split()[-1]) >= 1 for entry in metrics.splitlines())
