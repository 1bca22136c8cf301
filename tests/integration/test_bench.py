"""`scorer bench` runs end to end at a tiny size. It measures; it asserts no speed."""

import orjson
from click.testing import CliRunner

from scorer.cli import cli


def test_bench_prints_every_documented_figure(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["bench", "--events", "2000", "--users", "200", "--items", "100", "--latency-seconds", "3", "--json"],
        env={"SCORER_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.output[result.output.index("{") :])
    for key in ("ceiling_eps", "scorer_eps", "plain_loop_eps", "ratio_scorer_to_ceiling", "ratio_scorer_to_plain_loop", "peak_rss_mb", "state_bytes_per_user"):
        assert doc[key] > 0, key
    assert set(doc["latency_ms"]) == {"p50", "p95", "p99"}
    assert 0 <= doc["latency_ms"]["p50"] <= doc["latency_ms"]["p95"] <= doc["latency_ms"]["p99"]
    assert doc["ratio_scorer_to_ceiling"] == doc["scorer_eps"] / doc["ceiling_eps"]
    erasure = doc["erasure_ms"]
    assert erasure["requests"] > 0 and 0 <= erasure["p50"] <= erasure["p99"]
