"""The docker-compose deployment, checked without Docker.

No Docker engine runs on the CI machines, so these tests check what can be
checked for real: the compose file's structure, that every ``SCORER_*``
variable is a real setting, Prometheus's configuration with ``promtool``, and
that the Grafana dashboard only queries metrics the worker really exports
(and that its PromQL parses, with ``promtool check rules``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scorer.worker import ScorerMetrics
from scorer.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "scorer.json"

SCORER_VAR = re.compile(r"\bSCORER_[A-Z0-9_]+\b")
# ${NAME}, ${NAME:-default}, ${NAME-default}: compose interpolation.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
METRIC = re.compile(r"\bscorer_[a-z0-9_]+\b")
SUFFIX = re.compile(r"_(bucket|sum|count|total)$")

# Dashboard areas: the row a panel sits under, and a metric family its panels must query.
AREAS = {
    "Throughput": "scorer_events_consumed",
    "Latency": "scorer_record_to_publish_seconds",
    "Lag": "scorer_consumer_lag_records",
    "Model quality": "scorer_model_examples_learned",
    "Rejects": "scorer_events_rejected",
    "Drift": "scorer_events_consumed",
}

PROMTOOL_MISSING = (
    "promtool is not on PATH. Install it (Debian/Ubuntu: `apt-get install prometheus`; "
    "CI installs it) - these checks must not be skipped."
)


# --- helpers -------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def resolve(value: str) -> str:
    """A compose value with ``${VAR:-default}`` replaced by its default."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def setting_names() -> set[str]:
    return {Settings.env_name(f.name) for f in dataclasses.fields(Settings)}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(PROMTOOL_MISSING)
    return path


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def flat_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    out: list[dict[str, Any]] = []
    for panel in panels:
        out.append(panel)
        out.extend(flat_panels(panel.get("panels") or []))
    return out


def panels_by_row() -> dict[str, list[dict[str, Any]]]:
    """Non-row panels grouped by the title of the row they sit under."""
    rows: dict[str, list[dict[str, Any]]] = {}
    current = ""
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
            rows.setdefault(current, []).extend(panel.get("panels") or [])
        else:
            rows.setdefault(current, []).append(panel)
    return rows


def expressions(panels: list[dict[str, Any]]) -> list[str]:
    return [target["expr"] for panel in panels for target in panel.get("targets") or [] if target.get("expr")]


def all_expressions() -> list[str]:
    exprs = expressions(flat_panels(dashboard()["panels"]))
    for variable in dashboard().get("templating", {}).get("list", []):
        query = variable.get("query")
        exprs.append(query.get("query", "") if isinstance(query, dict) else str(query or ""))
        exprs.append(variable.get("definition", ""))
    return [e for e in exprs if e]


def families(exprs: list[str]) -> set[str]:
    return {SUFFIX.sub("", name) for expr in exprs for name in METRIC.findall(expr)}


def exported_families() -> set[str]:
    return {family.name for family in ScorerMetrics().registry.collect()}


def as_promql(expr: str) -> str:
    """A Grafana expression with its variables replaced, so that Prometheus can parse it."""
    expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?", ".*", expr)


# --- docker-compose.yml and Dockerfile -------------------------------------------------


def test_compose_file_parses_with_the_expected_services() -> None:
    document = compose()
    assert isinstance(document, dict)
    assert {"kafka", "topics", "worker", "traffic", "prometheus", "grafana"} <= set(document["services"])


def test_every_scorer_variable_in_compose_and_dockerfile_is_a_real_setting() -> None:
    known = setting_names()
    assert "SCORER_BROKER" in known and "SCORER_WEB_PORT" in known
    for path in (COMPOSE, DOCKERFILE):
        used = set(SCORER_VAR.findall(path.read_text(encoding="utf-8")))
        assert used, f"{path.name} sets no SCORER_* variable"
        unknown = used - known
        assert not unknown, f"{path.name} uses {sorted(unknown)}, which are not settings: {sorted(known)}"
    # Also the keys of every service's environment (e.g. after YAML anchors and merges).
    for name, service in services().items():
        keys = {key for key in environment(service) if key.startswith("SCORER_")}
        assert keys <= known, f"service {name}: {sorted(keys - known)} are not settings"


def test_scorer_services_are_configured_only_through_settings_and_values_parse() -> None:
    for name in ("topics", "worker", "traffic"):
        env = environment(services()[name])
        assert env, f"{name} has no environment"
        assert all(key.startswith("SCORER_") for key in env), f"{name}: {sorted(env)}"
        # Every value (with compose defaults filled in) must be accepted by Settings.
        Settings.from_env({key: resolve(value) for key, value in env.items()})


def test_worker_can_be_scaled() -> None:
    worker = services()["worker"]
    assert "container_name" not in worker
    for port in worker.get("ports") or []:
        # "6066" (an ephemeral host port) could be scaled; "8080:6066" could not.
        if isinstance(port, dict):
            assert "published" not in port, f"worker publishes a fixed host port: {port}"
        else:
            assert ":" not in str(port), f"worker publishes a fixed host port: {port}"
    assert "hostname" not in worker


def test_worker_binds_every_interface_and_uses_the_dockerfile() -> None:
    worker = services()["worker"]
    env = environment(worker)
    host = env.get("SCORER_WEB_HOST") or dockerfile_env().get("SCORER_WEB_HOST")
    assert host == "0.0.0.0"
    assert worker.get("build") in (".", {"context": "."}) or worker["build"].get("context") == "."


def dockerfile_env() -> dict[str, str]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().startswith("ENV "):
            env.update(re.findall(r"(\w+)=(\S+)", line))
    return env


def worker_web_port() -> int:
    env = environment(services()["worker"])
    raw = env.get("SCORER_WEB_PORT") or dockerfile_env().get("SCORER_WEB_PORT")
    return Settings.from_env({"SCORER_WEB_PORT": resolve(raw)} if raw else {}).web_port


def test_dockerfile_installs_the_package_and_runs_a_worker() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^RUN pip install [^\n]*\.\s*$", text, re.M), "the image must install the package with `pip install .`"
    assert 'ENTRYPOINT ["scorer"]' in text
    assert 'CMD ["worker"]' in text
    assert dockerfile_env().get("SCORER_WEB_HOST") == "0.0.0.0"
    # What the Dockerfile copies is what setuptools packages: the one `scorer` package.
    assert re.search(r"^COPY scorer ./scorer\s*$", text, re.M), "the image does not copy scorer/"


def test_prometheus_scrapes_the_worker_port_through_dns() -> None:
    config = load_yaml(PROMETHEUS)
    jobs = [job for job in config["scrape_configs"] if job.get("dns_sd_configs")]
    assert jobs, "no scrape job uses dns_sd_configs"
    sd = [sd for job in jobs for sd in job["dns_sd_configs"] if "worker" in sd.get("names", [])]
    assert sd, "no dns_sd_configs entry resolves the `worker` service"
    for entry in sd:
        assert entry.get("type", "SRV") == "A"
        assert entry["port"] == worker_web_port()
    for job in jobs:
        assert job.get("metrics_path", "/metrics") == "/metrics"


def test_topics_are_created_before_workers_and_traffic() -> None:
    svc = services()
    topics = svc["topics"]
    command = topics["command"]
    command = command if isinstance(command, list) else command.split()
    assert command[:2] == ["topics", "create"]
    assert topics.get("restart", "no") == "no"
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "traffic"):
        assert svc[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully", name
    # Topics and workers agree on the partition count (co-partitioning of user state).
    assert resolve(environment(topics)["SCORER_PARTITIONS"]) == resolve(environment(svc["worker"])["SCORER_PARTITIONS"])


def test_kafka_is_kraft_with_a_healthcheck_and_no_topic_auto_creation() -> None:
    kafka = services()["kafka"]
    env = {key: str(value) for key, value in kafka["environment"].items()}
    assert "broker" in env["KAFKA_PROCESS_ROLES"] and "controller" in env["KAFKA_PROCESS_ROLES"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    broker = resolve(environment(services()["worker"])["SCORER_BROKER"])
    assert broker == "kafka:9092"
    check = kafka["healthcheck"]["test"]
    assert check and "9092" in " ".join(check if isinstance(check, list) else [check])


def test_traffic_generator_is_optional() -> None:
    traffic = services()["traffic"]
    assert traffic["profiles"] == ["traffic"]
    assert traffic["command"] == ["simulate", "--rate", "200", "--events", "100000000"]
    # The options exist on the real command.
    from scorer.cli import simulate

    options = {opt for param in simulate.params for opt in param.opts}
    assert {"--rate", "--events"} <= options


def test_images_are_pinned() -> None:
    for name, service in services().items():
        image = service.get("image")
        if image is None:
            assert "build" in service, f"{name} has neither image nor build"
            continue
        assert ":" in image.rsplit("/", 1)[-1], f"{name}: image {image} has no tag"
        tag = image.rsplit(":", 1)[1]
        assert tag != "latest" and tag, f"{name}: image {image} is not pinned"
    assert services()["kafka"]["image"].startswith("apache/kafka:")
    assert re.search(r"^FROM python:3\.\d+", DOCKERFILE.read_text(encoding="utf-8"), re.M)


def test_prometheus_and_grafana_mount_the_deploy_files() -> None:
    svc = services()
    mounts = {str(volume).split(":")[0]: str(volume).split(":")[1] for volume in svc["prometheus"]["volumes"]}
    assert mounts["./deploy/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    grafana = {str(volume).split(":")[0]: str(volume).split(":")[1] for volume in svc["grafana"]["volumes"]}
    assert grafana["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboards_in_container = grafana["./deploy/grafana/dashboards"]
    providers = load_yaml(PROVIDERS)["providers"]
    assert [p["options"]["path"] for p in providers] == [dashboards_in_container]
    for source in list(mounts) + list(grafana):
        if source.startswith("./"):
            assert (ROOT / source).exists(), f"{source} is mounted but missing"


# --- promtool ----------------------------------------------------------------------------


def test_promtool_accepts_the_prometheus_config() -> None:
    result = subprocess.run(
        [promtool(), "check", "config", str(PROMETHEUS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dashboard_expression_is_valid_promql(tmp_path: Path) -> None:
    exprs = expressions(flat_panels(dashboard()["panels"]))
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"dashboard:expr_{i}", "expr": as_promql(e)} for i, e in enumerate(exprs)]}
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Grafana -------------------------------------------------------------------------


def test_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    assert 36 <= board["schemaVersion"] <= 41
    panels = flat_panels(board["panels"])
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    kinds = {panel["type"] for panel in panels}
    assert {"timeseries", "stat", "row"} <= kinds
    for panel in panels:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        if panel["type"] == "row":
            continue
        description = panel.get("description", "")
        assert description.strip() and "\n" not in description, f"panel {panel['title']!r} needs a one-line description"
        if panel["type"] != "text":
            assert panel.get("targets"), f"panel {panel['title']!r} has no query"


def test_dashboard_only_queries_metrics_the_worker_exports() -> None:
    exported = exported_families()
    assert "scorer_events_consumed" in exported  # counters are named without _total
    referenced = families(all_expressions())
    assert referenced, "the dashboard queries no scorer_* metric"
    unknown = referenced - exported
    assert not unknown, f"the dashboard queries metrics the worker does not export: {sorted(unknown)}"
    # And the text of every panel (descriptions, markdown) names no invented metric either.
    text = json.dumps(dashboard())
    assert families([text]) <= exported


def test_dashboard_has_a_panel_for_every_area() -> None:
    rows = panels_by_row()
    for area, family in AREAS.items():
        assert area in rows, f"no {area!r} row; rows: {sorted(rows)}"
        queried = [panel for panel in rows[area] if panel.get("targets")]
        assert queried, f"the {area!r} row has no panel with a query"
        assert family in families(expressions(queried)), f"the {area!r} row does not query {family}"
    # Live model quality, drift and checkpoints, as the worker exports them.
    quality = families(expressions(rows["Model quality"]))
    for family in (
        "scorer_model_quality",
        "scorer_model_segment_quality",
        "scorer_model_windowed_log_loss",
        "scorer_model_drifts",
        "scorer_model_promotions",
        "scorer_model_checkpoint_age_seconds",
        "scorer_recommendation_quality",
    ):
        assert family in quality, f"the model quality row does not query {family}"


def test_datasource_uid_matches_the_dashboard() -> None:
    provisioned = load_yaml(DATASOURCES)["datasources"]
    prometheus = [ds for ds in provisioned if ds["type"] == "prometheus"]
    assert len(prometheus) == 1
    uid = prometheus[0]["uid"]
    assert prometheus[0]["url"] == "http://prometheus:9090"
    board = dashboard()
    used = set()
    for panel in flat_panels(board["panels"]):
        for holder in [panel, *(panel.get("targets") or [])]:
            ds = holder.get("datasource")
            if isinstance(ds, dict) and ds.get("type") == "prometheus":
                used.add(ds["uid"])
            elif ds is not None and not isinstance(ds, dict):
                used.add(ds)
    for variable in board.get("templating", {}).get("list", []):
        if isinstance(variable.get("datasource"), dict):
            used.add(variable["datasource"]["uid"])
    assert used == {uid}, f"dashboard datasources {used} != provisioned uid {uid!r}"
