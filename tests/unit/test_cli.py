from click.testing import CliRunner

from scorer.cli import cli


def test_help_lists_the_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("broker", "worker", "demo", "topics"):
        assert f"  {command} " in result.output


def test_unreachable_broker_is_a_clear_error():
    result = CliRunner().invoke(cli, ["topics", "list", "--broker", "127.0.0.1:1"], env={})
    assert result.exit_code == 1
    assert "no Kafka broker answered at 127.0.0.1:1" in result.output


def test_bad_setting_is_a_usage_error():
    result = CliRunner().invoke(cli, ["topics", "list"], env={"SCORER_PARTITIONS": "x"})
    assert result.exit_code == 2 and "SCORER_PARTITIONS" in result.output
