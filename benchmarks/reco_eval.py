"""Prequential next-item evaluation of the recommender on the real samples in ../shared/data.

    python benchmarks/reco_eval.py yoochoose              # learn train, then count test (the acceptance run)
    python benchmarks/reco_eval.py yoochoose --validate   # tuning run: train's last day held out, test unseen
    python benchmarks/reco_eval.py rees46                 # REES46, learned from scratch, every view counted
    python benchmarks/reco_eval.py yoochoose --set knn_k=50 --set repeat_weight=2

Sources: YooChoose, RecSys Challenge 2015 clicks, the 100k sample prepared by
session-rec (Ludewig, Jannach et al.); REES46 "eCommerce behavior data from
multi category store" (Open CDP / REES46 Marketing Platform, Kaggle). See
../shared/data/README.md.

Events are replayed in event-time order (ties in file order), as a stream
would deliver them; ``--order session`` replays YooChoose session by session
as the file lists them instead.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem
from scorer.recommend import NextItemMetrics, prequential_next_item, Recommender, RecommenderConfig

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
YOOCHOOSE = DATA / "yoochoose-100k"
REES46 = DATA / "rees46-2019-10-first17k.csv"
DAY_MS = 86_400_000


def load_yoochoose(path: Path, order: str = "time") -> list[ClickEvent]:
    """One ``product_view`` per row; the session id is both user and session."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    header, body = rows[0], rows[1:]
    assert header == ["SessionId", "ItemId", "Time"], header
    events = [
        ClickEvent(
            event_id=f"{index}",
            user_id=session,
            ts=int(float(seconds) * 1000),
            type="product_view",
            item_id=item,
            session_id=session,
        )
        for index, (session, item, seconds) in enumerate(body)
    ]
    if order == "time":
        events.sort(key=lambda event: event.ts)  # stable: ties keep file order
    return events


def load_rees46(path: Path) -> list[ClickEvent | PurchaseEvent]:
    """view -> product_view, cart -> add_to_cart, purchase -> a one-line PurchaseEvent."""
    events: list[ClickEvent | PurchaseEvent] = []
    with path.open(newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            stamp = datetime.strptime(row["event_time"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
            ts = int(stamp.timestamp() * 1000)
            price = float(row["price"]) if row["price"] else None
            category = row["category_id"] or None
            brand = row["brand"] or None
            if row["event_type"] == "purchase":
                line = PurchaseItem(row["product_id"], price or 0.0, 1, category, brand)
                events.append(
                    PurchaseEvent(f"{index}", row["user_id"], ts, f"{row['user_session']}-{index}", (line,))
                )
                continue
            kind = {"view": "product_view", "cart": "add_to_cart"}[row["event_type"]]
            events.append(
                ClickEvent(
                    f"{index}",
                    row["user_id"],
                    ts,
                    kind,
                    item_id=row["product_id"],
                    category=category,
                    brand=brand,
                    price=price,
                    session_id=row["user_session"] or None,
                )
            )
    events.sort(key=lambda event: event.ts)
    return events


def evaluate_yoochoose(config: RecommenderConfig, validate: bool = False, order: str = "time") -> NextItemMetrics:
    """Learn all of train, then count test; with ``validate``, count train's last day instead."""
    train = load_yoochoose(YOOCHOOSE / "train.tsv", order)
    if validate:
        cut = max(event.ts for event in train) - DAY_MS
        return prequential_next_item(train, Recommender(config), count_from=cut)
    test = load_yoochoose(YOOCHOOSE / "test.tsv", order)
    return prequential_next_item(train + test, Recommender(config), count_from=min(e.ts for e in test))


def evaluate_rees46(config: RecommenderConfig, count_from: int | None = None) -> NextItemMetrics:
    """Learn from scratch; count every view from ``count_from`` (epoch ms), or all of them."""
    return prequential_next_item(load_rees46(REES46), Recommender(config), count_from=count_from)


def parse_overrides(pairs: list[str]) -> dict[str, object]:
    types = {field.name: field.type for field in dataclasses.fields(RecommenderConfig)}
    overrides: dict[str, object] = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        if name not in types:
            raise SystemExit(f"unknown setting {name!r}")
        kind = str(types[name])
        if raw.lower() == "none":
            overrides[name] = None
        elif "bool" in kind:
            overrides[name] = raw.lower() in ("1", "true", "yes")
        elif kind == "int":
            overrides[name] = int(raw)
        else:
            overrides[name] = float(raw)
    return overrides


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=["yoochoose", "rees46"])
    parser.add_argument("--validate", action="store_true", help="yoochoose: hold out train's last day instead of test")
    parser.add_argument("--order", choices=["time", "session"], default="time", help="yoochoose replay order")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting")
    args = parser.parse_args(argv)
    config = RecommenderConfig(**parse_overrides(args.set))
    started = time.perf_counter()
    if args.dataset == "yoochoose":
        metrics = evaluate_yoochoose(config, validate=args.validate, order=args.order)
    else:
        metrics = evaluate_rees46(config)
    print(metrics.as_percent(), f"[{time.perf_counter() - started:.1f} s]", " ".join(args.set), file=sys.stdout)


if __name__ == "__main__":
    main()
