"""Lists recorded from the dict-based recommender on real-data slices, and the replay that makes them.

The recommender was rewritten over interned item ids and numpy arrays; these
recordings pin the new code to what the old one listed. Re-record only on
purpose (a change of the model, not of its implementation)::

    python -m tests.unit.recommend.recorded      # writes data/recorded_lists.json.gz
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from scorer.events import ClickEvent, PurchaseEvent
from scorer.recommend import Recommender, SessionItems

RECORDED = Path(__file__).with_name("data") / "recorded_lists.json.gz"
#: Events replayed from the start of each sample (in event-time order), every ``EVERY``-th list
#: kept, and the list length. Scores are kept to 10 significant digits, items as indices into a
#: table of names, to keep the file small.
SLICE, EVERY, K = 4_000, 2, 20


def replay_lists(events: list[ClickEvent | PurchaseEvent], reco: Recommender, k: int = K) -> list[list]:
    """Observe each event, then list as the engine does: ``[strategy, items, scores]`` per event."""
    sessions: dict[str, SessionItems] = {}
    lists = []
    for n, event in enumerate(events):
        session = sessions.setdefault(event.user_id, SessionItems())
        reco.observe(session, event)
        built = reco.recommend_with_strategy(session, event, k)
        if n % EVERY == 0:
            lists.append([built.strategy, [item for item, _ in built.items], [score for _, score in built.items]])
    return lists


def compact(lists: list[list]) -> dict:
    names: dict[str, int] = {}
    rows = [
        [strategy, [names.setdefault(item, len(names)) for item in items], [float(f"{s:.10g}") for s in scores]]
        for strategy, items, scores in lists
    ]
    return {"names": list(names), "lists": rows}


def expand(packed: dict) -> list[list]:
    names = packed["names"]
    return [[strategy, [names[i] for i in items], scores] for strategy, items, scores in packed["lists"]]


def slices() -> dict[str, list[ClickEvent | PurchaseEvent]]:
    from benchmarks.reco_eval import REES46, YOOCHOOSE, load_rees46, load_yoochoose

    return {
        "yoochoose": load_yoochoose(YOOCHOOSE / "train.tsv")[:SLICE],
        "rees46": load_rees46(REES46)[:SLICE],
    }


def load_recorded() -> dict[str, list[list]]:
    packed = orjson.loads(gzip.decompress(RECORDED.read_bytes()))
    return {name: expand(lists) for name, lists in packed.items()}


if __name__ == "__main__":
    recorded = {name: compact(replay_lists(events, Recommender())) for name, events in slices().items()}
    RECORDED.write_bytes(gzip.compress(orjson.dumps(recorded), 9))
    print(f"{RECORDED}: {RECORDED.stat().st_size} bytes, {sum(len(packed['lists']) for packed in recorded.values())} lists")
