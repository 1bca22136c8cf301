"""/metrics moves under load, and a real Prometheus server scrapes it."""

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scorer.tools import free_port, wait_for_port
from tests.integration.conftest import consume, producer

T0 = 1_767_225_600_000


def scrape(settings) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def send_clicks(settings, n: int, start: int = 0) -> None:
    out = producer(settings)
    for i in range(start, start + n):
        user = f"u{i % 7}"
        event = {"event_id": f"e{i}", "user_id": user, "ts": T0 + i * 1000, "type": "product_view", "item_id": "i1"}
        out.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(event))
    out.flush(10)


def test_metrics_series_move_under_load(settings, start_worker_for):
    start_worker_for(settings)
    send_clicks(settings, 40)
    out = producer(settings)
    out.produce(settings.topic_clickstream, key=b"u1", value=b"{broken")
    out.flush(10)
    assert len(consume(settings, settings.topic_scores_propensity, expected=40)) == 40
    time.sleep(settings.commit_interval_s * 3)
    first = scrape(settings)
    consumed = ("scorer_events_consumed_total", (("topic", settings.topic_clickstream), ("type", "product_view")))
    assert first[consumed] == 40
    assert first[("scorer_events_rejected_total", (("reason", "malformed_json"),))] == 1
    assert first[("scorer_scores_published_total", (("topic", settings.topic_scores_propensity),))] == 40
    assert first[("scorer_event_time_to_publish_seconds_count", ())] == 40
    assert first[("scorer_consume_to_publish_seconds_count", ())] == 40
    assert first[("scorer_users_in_state", ())] == 7
    assert first[("scorer_state_bytes", ())] > 7 * 100  # seven records of features and pending examples
    assert first[("scorer_state_records_flushed_total", ())] >= 7
    assert first[("scorer_commit_seconds_count", ())] >= 1
    assert first[("scorer_rebalances_total", ())] >= 1
    assert first[("scorer_publish_failures_total", ())] == 0
    lags = [v for (name, labels), v in first.items() if name == "scorer_consumer_lag_records"]
    assert lags and all(v >= 0 for v in lags)

    send_clicks(settings, 30, start=40)
    assert len(consume(settings, settings.topic_scores_propensity, expected=70)) == 70
    second = scrape(settings)
    assert second[consumed] == 70
    assert second[("scorer_event_time_to_publish_seconds_count", ())] == 70


def test_a_real_prometheus_server_scrapes_the_worker(settings, start_worker_for, tmp_path: Path):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the prometheus server is needed: apt-get install prometheus (.ci/run installs it)")
    start_worker_for(settings)
    send_clicks(settings, 20)
    assert len(consume(settings, settings.topic_scores_propensity, expected=20)) == 20
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: scorer\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{settings.web_port}']\n"
    )
    server = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout_s=30)
        query = urllib.parse.urlencode({"query": f'scorer_events_consumed_total{{topic="{settings.topic_clickstream}"}}'})
        deadline = time.monotonic() + 45
        result: list = []
        while time.monotonic() < deadline and not result:
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=5) as response:
                    result = json.loads(response.read())["data"]["result"]
            except OSError:
                continue
        assert result, "Prometheus returned no scorer series"
        by_type = {r["metric"]["type"]: float(r["value"][1]) for r in result}
        # Every known event type is exported from the start; only the views were consumed.
        assert by_type.pop("product_view") == 20 and set(by_type.values()) == {0.0}
    finally:
        server.terminate()
        server.wait(timeout=20)
