"""Imports flow one way: events -> features -> online_models -> streams."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["events", "features", "online_models", "streams"]
EDGE_ONLY = {"faust", "confluent_kafka", "aiokafka", "prometheus_client", "os", "mode", "click", "rich"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_a_layer_above_it(layer):
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    for path in (ROOT / layer).rglob("*.py"):
        assert not imported_roots(path) & above, f"{path.relative_to(ROOT)} imports {imported_roots(path) & above}"


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_the_pure_core_knows_no_kafka_faust_prometheus_environment_or_wall_clock(layer):
    for path in (ROOT / layer).rglob("*.py"):
        source = path.read_text()
        assert not imported_roots(path) & EDGE_ONLY, path
        for clock in ("time.time(", "datetime.now(", "datetime.utcnow(", "time.monotonic("):
            assert clock not in source, f"{path.relative_to(ROOT)} reads the wall clock"
