"""Taobao (no session ids) with sessions derived by inactivity, and without: one session per user.

    python benchmarks/reco_taobao.py          # prints the recommendations block of both runs

Both runs are ``scorer evaluate ../shared/data/taobao-even-users.csv --json``; the second
gives the recommender a gap no pause reaches, so a user's clicks form a single session.
A benchmark, never a timed test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import sys
from pathlib import Path

import scorer.tools.evaluate as evaluate
from scorer.cli import main as scorer_main
from scorer.recommend import Recommender

TAOBAO = Path(__file__).resolve().parents[2] / "shared" / "data" / "taobao-even-users.csv"


def run() -> dict:
    sys.argv = ["scorer", "evaluate", str(TAOBAO), "--json"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        scorer_main()
    return json.loads(out.getvalue())["recommendations"]


def main() -> None:
    print("derived by inactivity:", json.dumps(run()))
    derived = evaluate.make_recommender

    def one_session_per_user(settings):  # type: ignore[no-untyped-def]
        return Recommender(dataclasses.replace(derived(settings).config, session_gap_s=1e12))

    evaluate.make_recommender = one_session_per_user
    print("one session per user: ", json.dumps(run()))


if __name__ == "__main__":
    main()
