"""`scorer bench --broker-kind kafka` runs end to end on the pinned Apache Kafka, at a tiny size."""

import orjson
import pytest
from click.testing import CliRunner

from scorer.cli import cli
from tests.integration.real_kafka import java_available

pytestmark = pytest.mark.skipif(not java_available(), reason="Apache Kafka needs Java 17+")


def test_bench_measures_on_real_kafka(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["bench", "--broker-kind", "kafka", "--events", "2000", "--users", "200", "--items", "100", "--latency-seconds", "3", "--json"],
        env={"SCORER_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.output[result.output.index("{") :])
    assert doc["broker"] == "kafka"
    for key in ("ceiling_eps", "scorer_eps", "plain_loop_eps", "peak_rss_mb", "state_bytes_per_user"):
        assert doc[key] > 0, key
    assert 0 <= doc["latency_ms"]["p50"] <= doc["latency_ms"]["p95"] <= doc["latency_ms"]["p99"]
    assert doc["erasure_ms"]["requests"] > 0
