"""The README's library example runs as printed and agrees with ``scorer evaluate``."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from scorer.cli import cli

ROOT = Path(__file__).resolve().parents[2]
REES46 = ROOT.parent / "shared" / "data" / "rees46-2019-10-first17k.csv"


def library_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- library example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "the README has no library example block"
    return found.group(1)


@pytest.mark.skipif(not REES46.exists(), reason="shared REES46 sample not present")
def test_the_library_example_prints_what_evaluate_reports() -> None:
    code = library_example()
    printed = io.StringIO()
    # The example names its file relative to the repository, as a reader would run it.
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(previous)
    evaluated = orjson.loads(CliRunner().invoke(cli, ["evaluate", str(REES46), "--json"]).output)["propensity"]
    assert printed.getvalue().strip() == f"{evaluated['examples']} clicks scored, ROC-AUC {evaluated['roc_auc']:.4f}"
