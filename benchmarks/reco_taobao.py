"""Taobao (no session ids) with sessions derived by inactivity, and without: one session per user.

    python benchmarks/reco_taobao.py          # HR and MRR of both runs

The replay is the one of ``scorer evaluate ../shared/data/taobao-even-users.csv``
(default settings, every event counted); the second run gives the recommender a gap no
pause reaches, so each user's clicks form a single session.
A benchmark, never a timed test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from scorer.datasets import read_events
from scorer.recommend import Recommender
from scorer.scoring import run_offline
from scorer.settings import Settings
from scorer.worker import make_pipeline, make_recommender

TAOBAO = Path(__file__).resolve().parents[2] / "shared" / "data" / "taobao-even-users.csv"


def main() -> None:
    settings = Settings()
    events = read_events([TAOBAO])
    for label, gap_s in (("derived by inactivity", None), ("one session per user", 1e12)):
        recommender = make_recommender(settings)
        if gap_s is not None:
            recommender = Recommender(dataclasses.replace(recommender.config, session_gap_s=gap_s))
        run = run_offline(events, make_pipeline(settings, lineage="offline"), recommender, partitions=settings.partitions)
        m = run.next_item.result()
        print(f"{label}: HR@10 {m.hr10:.2%}  HR@20 {m.hr20:.2%}  MRR@10 {m.mrr10:.2%}  MRR@20 {m.mrr20:.2%}  (n={m.count})")


if __name__ == "__main__":
    main()
