"""Every failure a user can fix ends a command in one line and a non-zero status, quickly.

In process (CliRunner) and without a broker: an unreachable broker is a port nothing listens on.
"""

from __future__ import annotations

import fcntl
import gzip
import socket
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from scorer.cli import cli
from scorer.tools import free_port

REES46_HEAD = (
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
    "2019-10-01 00:00:00 UTC,view,1,10,electronics.phone,acme,5.00,u1,s1\n"
    "2019-10-01 00:00:05 UTC,cart,1,10,electronics.phone,acme,5.00,u1,s1\n"
    "2019-10-01 00:01:00 UTC,purchase,1,10,,,5.00,u1,s1\n"
    "2019-10-01 00:02:00 UTC,view,2,11,,,7.50,u2,s2\n"
)


def one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{output}"
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


@pytest.fixture
def nowhere() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "head.csv"
    path.write_text(REES46_HEAD)
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["topics", "list"],
        ["topics", "create"],
        ["tail", "--duration", "30"],
        ["simulate", "--events", "10"],
        ["replay", "{file}"],
        ["worker", "--store", "memory", "--web-port", "{port}"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_an_unreachable_broker_fails_every_command_in_one_line(command, nowhere, events_file, tmp_path, capfd):
    args = [a.format(file=events_file, port=free_port()) for a in command]
    started = time.monotonic()
    result = CliRunner().invoke(cli, [*args, "--broker", nowhere], env={"SCORER_DATA_DIR": str(tmp_path / "d")})
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    line = one_line_error(result.output)
    assert f"no Kafka broker answered at {nowhere}" in line and "--broker" in line
    assert elapsed < 10
    # librdkafka's own lines stay out of the way (they come back with --verbose).
    assert "rdkafka" not in capfd.readouterr().err


def test_a_busy_web_port_names_the_setting(nowhere):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = CliRunner().invoke(cli, ["worker", "--broker", nowhere, "--web-port", str(port)])
    assert result.exit_code == 1
    line = one_line_error(result.output)
    assert f"port {port}" in line and "--web-port" in line and "SCORER_WEB_PORT" in line


def test_a_locked_data_dir_names_the_setting(nowhere, tmp_path):
    app_dir = tmp_path / "state" / "scorer"
    app_dir.mkdir(parents=True)
    with open(app_dir / "worker.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()
        result = CliRunner().invoke(
            cli, ["worker", "--broker", nowhere, "--store", "rocksdb", "--data-dir", str(tmp_path / "state"), "--web-port", str(free_port())]
        )
    assert result.exit_code == 1
    line = one_line_error(result.output)
    assert "pid 4242" in line and "--data-dir" in line and "SCORER_DATA_DIR" in line


def test_state_whose_changelog_is_gone_or_recreated_explains_the_lost_topics(tmp_path):
    from scorer.settings import Settings
    from scorer.worker import StartupError
    from scorer.worker.preflight import check_state_has_changelog, remember_changelog_id

    settings = Settings(data_dir=str(tmp_path), store="rocksdb")
    check_state_has_changelog(settings, "users", None)  # nothing held yet: a first start
    (tmp_path / "scorer" / "v1" / "tables" / "users-0.db").mkdir(parents=True)
    remember_changelog_id(settings, "users", lambda: "id-1", every_s=0.01).join(timeout=5)
    check_state_has_changelog(settings, "users", "id-1")
    with pytest.raises(StartupError, match="has no topic 'scorer-users-changelog'.*the broker lost its topics.*--data-dir"):
        check_state_has_changelog(settings, "users", None)
    with pytest.raises(StartupError, match="is not the one that state was built from"):
        check_state_has_changelog(settings, "users", "id-2")
    # The first id recorded stays: it names the topic the state was built from.
    assert remember_changelog_id(settings, "users", lambda: "id-2") is None


def test_gzip_input_evaluates_like_the_plain_file(events_file, tmp_path):
    packed = tmp_path / "head.csv.gz"
    packed.write_bytes(gzip.compress(events_file.read_bytes()))
    plain = CliRunner().invoke(cli, ["evaluate", str(events_file), "--json"])
    zipped = CliRunner().invoke(cli, ["evaluate", str(packed), "--json"])
    assert plain.exit_code == zipped.exit_code == 0, zipped.output
    a, b = orjson.loads(plain.output), orjson.loads(zipped.output)
    assert a["propensity"] == b["propensity"] and b["events"] == 4


def test_a_truncated_gzip_file_is_one_line(events_file, tmp_path):
    broken = tmp_path / "head.csv.gz"
    header, *rows = REES46_HEAD.splitlines(keepends=True)
    broken.write_bytes(gzip.compress((header + "".join(rows) * 50).encode())[:-40])
    result = CliRunner().invoke(cli, ["evaluate", str(broken), "--format", "rees46"])
    assert result.exit_code == 1
    assert "cannot read it as rees46" in one_line_error(result.output)


def test_an_empty_evaluation_writes_no_report_and_no_chart(tmp_path):
    purchases_only = tmp_path / "p.jsonl"
    purchases_only.write_bytes(
        orjson.dumps({"event_id": "e1", "user_id": "u1", "ts": 1_700_000_000_000, "order_id": "o1", "items": [{"item_id": "i", "price": 1.0}]})
        + b"\n"
    )
    charts = tmp_path / "charts"
    result = CliRunner().invoke(cli, ["evaluate", str(purchases_only), "--plots", str(charts)])
    assert result.exit_code == 1
    assert "no click was scored" in one_line_error(result.output)
    assert not charts.exists() or not any(charts.iterdir())


def test_a_bad_row_is_one_line_naming_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(REES46_HEAD + "2019-10-01 99:00:00 UTC,view,1,10,,,x,u1,s1\n")
    result = CliRunner().invoke(cli, ["replay", str(path), "--broker", f"127.0.0.1:{free_port()}"])
    assert result.exit_code == 1
    assert f"{path}:6: not a REES46 row" in one_line_error(result.output)


def test_a_demo_whose_web_port_is_busy_starts_nothing(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["demo", "--duration", "5"], env={"SCORER_WEB_PORT": str(port), "SCORER_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1 and time.monotonic() - started < 5
    line = one_line_error(result.output)
    assert f"port {port}" in line and "SCORER_WEB_PORT" in line
    assert not (tmp_path / "demo" / "broker.log").exists()


def test_a_purchases_only_log_spanning_cutoffs_reports_its_segments(tmp_path):
    day = 86_400_000
    rows = [
        {"event_id": f"e{u}-{d}", "user_id": f"u{u}", "ts": 1_700_000_000_000 + d * day + u, "order_id": f"o{u}-{d}",
         "items": [{"item_id": "i", "price": 1.0 + u}]}
        for d in range(0, 40, 3) for u in range(12) if (d + u) % 2 == 0
    ]
    log = tmp_path / "purchases.jsonl"
    log.write_bytes(b"\n".join(orjson.dumps(row) for row in rows) + b"\n")
    result = CliRunner().invoke(cli, ["evaluate", str(log), "--json"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.output[result.output.index("{"):])
    assert report["segments"]["cutoffs"] > 0 and report["segments"]["rfm"]["observations"] > 0
