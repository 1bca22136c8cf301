"""simulate, replay and tail against the embedded broker, through the real CLI."""

from pathlib import Path

import orjson
from click.testing import CliRunner

from scorer.cli import cli
from scorer.settings import Settings
from scorer.tools import settings_environment
from tests.integration.conftest import consume

REES46 = Path(__file__).resolve().parents[3] / "shared" / "data" / "rees46-2019-10-first17k.csv"


def run(settings: Settings, *args: str):
    result = CliRunner().invoke(cli, list(args), env=settings_environment(settings))
    assert result.exit_code == 0, result.output
    return result


def test_simulate_sends_keyed_events_to_the_broker(settings):
    run(settings, "simulate", "--events", "300", "--users", "20", "--seed", "3")
    clicks = consume(settings, settings.topic_clickstream, expected=10_000, timeout_s=8)
    purchases = consume(settings, settings.topic_purchases, expected=10_000, timeout_s=4)
    assert len(clicks) + len(purchases) == 300
    for message in clicks[:50]:
        assert message.key() == orjson.loads(message.value())["user_id"].encode()


def test_replayed_rees46_is_scored_and_tail_shows_it(settings, start_worker_for, tmp_path):
    sample = tmp_path / "rees46-head.csv"
    sample.write_text("".join(REES46.read_text().splitlines(keepends=True)[:301]))
    clicks = sum(1 for line in sample.read_text().splitlines()[1:] if ",purchase," not in line)
    start_worker_for(settings)
    run(settings, "replay", str(sample))
    scores = consume(settings, settings.topic_scores_propensity, expected=clicks)
    assert len(scores) == clicks
    result = run(settings, "tail", "--from-start", "--duration", "8")
    assert f"received {clicks:,} scores" in result.output
