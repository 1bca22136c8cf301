"""Imports flow one way through the rooms of ``scorer``, and only through each room's face.

The layer order (bottom to top): events -> datasets, features -> propensity, recommend
(and the model rooms to come: segments, clv, offers), siblings that never import each
other -> scoring -> settings, kafka -> worker -> tools -> bench -> cli. The pure core,
everything up to ``scoring``, knows no Kafka, Faust, Prometheus, environment or wall clock.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "scorer"

MODEL_ROOMS = {"propensity", "recommend", "segments", "clv", "offers"}
PURE = {"events", "datasets", "features", "scoring"} | MODEL_ROOMS
_BELOW_WORKER = {"events", "datasets", "features", "scoring", "settings", "kafka"} | MODEL_ROOMS
#: What each unit of the package may import of the package (a room, or a top-level module).
ALLOWED: dict[str, set[str]] = {
    "events": set(),
    "datasets": {"events"},
    "features": {"events"},
    **{room: {"events"} for room in MODEL_ROOMS},
    "scoring": {"events", "features"} | MODEL_ROOMS,
    # Settings expose the defaults the pure core owns (the conversion window, the session gap).
    "settings": PURE,
    "kafka": {"events", "settings"},
    "worker": _BELOW_WORKER,
    "tools": _BELOW_WORKER | {"worker"},
    "bench": _BELOW_WORKER | {"worker", "tools"},
    "cli": _BELOW_WORKER | {"worker", "tools", "bench"},
    "__main__": {"cli"},
}
#: Infrastructure every unit may use: the lazy-face helper (stdlib only).
SHARED = {"_faces"}
#: Third-party and standard modules the pure core must never import.
EDGE_ONLY = {"faust", "confluent_kafka", "aiokafka", "prometheus_client", "os", "mode", "click", "rich", "matplotlib"}
#: What the contract room may import beside the standard library.
EVENTS_THIRD_PARTY = {"orjson"}
WALL_CLOCK = ("time.time(", "datetime.now(", "datetime.utcnow(", "time.monotonic(", "time.perf_counter(")


def unit_of(path: Path) -> str:
    """The room (sub-package) or top-level module of ``scorer`` that ``path`` belongs to."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def imports(source: str) -> list[tuple[str, int]]:
    """Every absolute module named by an import statement, with its line, anywhere in the module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            if node.module == "scorer":
                found += [(f"scorer.{alias.name}", node.lineno) for alias in node.names]
    return found


def violations(unit: str, source: str) -> list[str]:
    """What in ``source`` (a module of ``unit``) breaks the layering; empty when nothing does."""
    found = []
    for module, line in imports(source):
        parts = module.split(".")
        if parts[0] == "scorer" and len(parts) > 1:
            target = parts[1]
            if target == unit or target in SHARED:
                continue
            if target not in ALLOWED.get(unit, set()):
                found.append(f"line {line}: {unit} may not import {target}")
            elif len(parts) > 2 and (PACKAGE / target).is_dir():
                found.append(f"line {line}: {module} bypasses the face of {target}")
        elif unit in PURE:
            if parts[0] in EDGE_ONLY:
                found.append(f"line {line}: the pure core imports {parts[0]}")
            elif unit == "events" and parts[0] not in sys.stdlib_module_names and parts[0] not in EVENTS_THIRD_PARTY:
                found.append(f"line {line}: the contract imports {parts[0]}")
    if unit in PURE:
        found += [f"reads the wall clock ({clock})" for clock in WALL_CLOCK if clock in source]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_unit_of_the_package_has_a_rule():
    assert {unit_of(path) for path in MODULES} - SHARED - {"__init__"} <= set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_flow_down_through_faces(path):
    assert violations(unit_of(path), path.read_text()) == []


def test_benchmarks_import_rooms_through_their_faces():
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        assert [v for v in violations("cli", path.read_text()) if "face" in v] == [], path.name


def test_every_room_has_a_face_that_says_what_it_holds():
    for room in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        if room.name == "schemas" or room.name.startswith("__"):
            continue
        face = ast.parse((room / "__init__.py").read_text())
        assert ast.get_docstring(face), f"{room.name}/__init__.py has no docstring"
        names = {t.id for node in face.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
        assert "__all__" in names, f"{room.name}/__init__.py has no __all__"


@pytest.mark.parametrize(
    ("unit", "source", "expected"),
    [
        ("propensity", "from scorer.recommend import Recommender", "propensity may not import recommend"),
        ("scoring", "from scorer.settings import Settings", "scoring may not import settings"),
        ("events", "import scorer.features", "events may not import features"),
        ("kafka", "def f():\n    from scorer.worker import run_worker", "kafka may not import worker"),
        ("tools", "from scorer.bench import run_bench", "tools may not import bench"),
        ("worker", "from scorer.scoring.engine import ScoringEngine", "bypasses the face of scoring"),
        ("features", "import faust", "the pure core imports faust"),
        ("recommend", "import os", "the pure core imports os"),
        ("events", "import numpy", "the contract imports numpy"),
        ("scoring", "import time\nnow = time.time()", "reads the wall clock"),
        ("worker", "from scorer import tools", "worker may not import tools"),
    ],
)
def test_the_checker_catches_a_forbidden_import(unit, source, expected):
    found = violations(unit, source)
    assert any(expected in v for v in found), found


def test_the_checker_allows_what_the_table_allows():
    assert violations("scoring", "from scorer.propensity import PropensityModel\nfrom scorer.features import UserState") == []
    assert violations("cli", "from scorer.worker import run_worker\nfrom scorer.bench import run_bench") == []
    assert violations("recommend", "import numpy\nfrom scorer.recommend.session import SessionItems") == []


def test_every_name_of_every_face_resolves_to_what_its_module_defines():
    import importlib
    import types

    rooms = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and p.name != "__pycache__")
    for room in rooms:
        face = importlib.import_module(f"scorer.{room}")
        for name in face.__all__:
            # A submodule of the same name (``tools.tail``) must not shadow the promised function.
            assert not isinstance(getattr(face, name), types.ModuleType), f"scorer.{room}.{name} is a module"
