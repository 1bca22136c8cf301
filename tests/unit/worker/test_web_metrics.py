"""The worker's HTTP edge and metrics: health during outages, the bearer check, the README's metric table."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scorer.settings import Settings
from scorer.worker.prometheus import REJECT_REASONS, ScorerMetrics
from scorer.worker.web import authorized, broker_state

ROOT = Path(__file__).resolve().parents[3]


def samples(metrics: ScorerMetrics) -> dict[tuple[str, tuple], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer wrong", "bearer s3cret", "Bearer s3cr\u00e9t", "Bearer \udcff\udcfe", "Basic czNjcmV0", "Bearer s3cret "],
)
def test_any_header_but_the_token_is_refused_without_error(header: str) -> None:
    assert authorized("s3cret", header) is False
    assert authorized("s3cret", "Bearer s3cret") is True
    assert authorized("", header) is True


def test_broker_state_reads_the_producer_without_blocking() -> None:
    polled = []
    down = SimpleNamespace(broker_reachable=False, unreachable_since=0.0, poll=lambda: polled.append(1))
    assert broker_state(down)["reachable"] is False and broker_state(down)["unreachable_for_s"] > 0 and polled
    up = SimpleNamespace(broker_reachable=True, unreachable_since=None, poll=lambda: None)
    assert broker_state(up) == {"reachable": True, "unreachable_for_s": None}
    assert broker_state(None) == {"reachable": None}


def test_labelled_series_exist_before_any_event() -> None:
    settings = Settings(topic_clickstream="clicks-x")
    found = samples(ScorerMetrics(settings))
    for reason in REJECT_REASONS:
        assert found[("scorer_events_rejected_total", (("reason", reason),))] == 0
    assert found[("scorer_events_consumed_total", (("topic", "clicks-x"), ("type", "add_to_cart")))] == 0
    assert found[("scorer_scores_published_total", (("topic", settings.topic_scores_propensity),))] == 0
    assert found[("scorer_model_examples_learned_total", (("label", "positive"),))] == 0
    assert found[("scorer_model_quality", (("metric", "count"), ("scope", "window")))] == 0
    roc = found[("scorer_model_quality", (("metric", "roc_auc"), ("scope", "cumulative")))]
    assert roc != roc  # NaN: no quality yet, and no invented zero
    assert ("scorer_model_segment_quality", (("dimension", "user"), ("metric", "count"), ("segment", "returning"))) in found
    assert ("scorer_model_windowed_log_loss", (("role", "challenger"),)) in found
    assert found[("process_resident_memory_bytes", ())] > 0


def test_promtool_accepts_the_exposition() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not on PATH (Debian/Ubuntu: apt-get install prometheus; `make test` installs it)")
    checked = subprocess.run([promtool, "check", "metrics"], input=ScorerMetrics().exposition(), capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_readme_metric_table_names_every_exported_series_and_no_other() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Metrics") : text.index("\n## Data protection")]
    named = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in re.findall(r"scorer_[a-z0-9_]+", section)}
    exported = {f.name for f in ScorerMetrics().registry.collect() if f.name.startswith("scorer_")}
    assert not exported - named, f"exported but not in the README's table: {sorted(exported - named)}"
    assert not named - exported, f"in the README but not exported: {sorted(named - exported)}"
