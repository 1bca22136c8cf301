"""Read recorded event datasets into the v1 contract, in event-time order.

Formats:

- ``jsonl``: the project's own events, one JSON object a line; a line with
  ``items`` is a purchase, anything else a click.
- ``rees46``: the REES46 e-commerce CSV
  (``event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session``):
  ``view`` becomes ``product_view``, ``cart`` ``add_to_cart``, ``remove_from_cart`` stays,
  and ``purchase`` rows become one-line purchases.
- ``sessions``: session-click TSV (``SessionId``, ``ItemId``, ``Time`` in unix
  seconds), where the session id serves as user and session.
- ``cdnow``: the CDNOW transaction log (``customer_id date number_of_cds dollar_value``,
  whitespace-separated, ``date`` as YYYYMMDD): purchases only, each row one order of
  ``number_of_cds`` units of one item ``cd`` at ``dollar_value / number_of_cds`` each,
  dated at midnight UTC (several orders of a customer on one day keep file order).

An empty field means absent, as in the event contract: a REES46-layout row with no
``user_session`` (Taobao's, converted) gives a click without a session id, whose session
is then derived from inactivity (``scorer.events.sessions``); an empty brand, category or
price is left out.

Each file is read whole and sorted by event time (stable, so equal times keep
file order); several files are read one after another.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import orjson

FORMATS = ("jsonl", "rees46", "sessions", "cdnow")
_REES46_HEADER = "event_time,event_type,product_id"
_REES46_CLICK_TYPES = {"view": "product_view", "cart": "add_to_cart", "remove_from_cart": "remove_from_cart"}


class DatasetError(ValueError):
    """A dataset file that cannot be read as the named format."""


def detect_format(path: Path) -> str:
    """Guess a file's format from its first line."""
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    if first.startswith(_REES46_HEADER):
        return "rees46"
    if first.split("\t")[:2] == ["SessionId", "ItemId"]:
        return "sessions"
    if first.split()[:2] == ["customer_id", "date"]:
        return "cdnow"
    if first.lstrip().startswith("{"):
        return "jsonl"
    raise DatasetError(f"{path}: cannot tell the format from its first line; name it with --format")


def _rees46_ts(text: str) -> int:
    # "2019-10-01 00:00:00 UTC"
    parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
    return int(parsed.timestamp()) * 1000


def _read_rees46(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, newline="", encoding="utf-8") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                ts = _rees46_ts(row["event_time"])
                kind = row["event_type"]
                common = {"event_id": f"{path.stem}:{row_number}", "user_id": row["user_id"], "ts": ts}
                item = {"item_id": row["product_id"]}
                category = row["category_code"] or row["category_id"]
                if category:
                    item["category"] = category
                if row["price"]:
                    item["price"] = float(row["price"])
                if row["brand"]:
                    item["brand"] = row["brand"]
                session = row["user_session"]
            except (KeyError, ValueError) as exc:
                raise DatasetError(f"{path}:{row_number}: not a REES46 row ({exc})") from None
            if kind == "purchase":
                # A purchase line needs a price; an unknown one counts as 0 rather than losing the order.
                line = {"price": 0.0, **item}
                yield "purchase", {**common, "order_id": f"{session or row['user_id']}:{row_number}", "items": [line]}
            elif kind in _REES46_CLICK_TYPES:
                click = {**common, "type": _REES46_CLICK_TYPES[kind], **item}
                if session:
                    click["session_id"] = session
                yield "click", click


def _read_sessions(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        try:
            session_col, item_col, time_col = (header.index(name) for name in ("SessionId", "ItemId", "Time"))
        except ValueError:
            raise DatasetError(f"{path}: expected SessionId, ItemId and Time columns") from None
        for row_number, line in enumerate(handle, start=2):
            fields = line.rstrip("\n").split("\t")
            try:
                session, item, ts = fields[session_col], fields[item_col], round(float(fields[time_col]) * 1000)
            except (IndexError, ValueError):
                raise DatasetError(f"{path}:{row_number}: not a session-click row") from None
            yield "click", {
                "event_id": f"{path.stem}:{row_number}",
                "user_id": session,
                "session_id": session,
                "ts": ts,
                "type": "product_view",
                "item_id": item,
            }


def _read_cdnow(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, encoding="utf-8") as handle:
        handle.readline()
        for row_number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            try:
                customer, day, units, dollars = line.split()
                ts = int(datetime.strptime(day, "%Y%m%d").replace(tzinfo=timezone.utc).timestamp()) * 1000
                quantity, value = int(units), float(dollars)
            except ValueError:
                raise DatasetError(f"{path}:{row_number}: not a CDNOW row (customer_id date number_of_cds dollar_value)") from None
            price = value / quantity if quantity else value
            yield "purchase", {
                "event_id": f"{path.stem}:{row_number}",
                "user_id": customer,
                "ts": ts,
                "order_id": f"{customer}:{row_number}",
                "items": [{"item_id": "cd", "price": round(price, 6), "quantity": max(quantity, 1)}],
            }


def _read_jsonl(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, "rb") as handle:
        for row_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{row_number}: not JSON ({exc})") from None
            if not isinstance(doc, dict):
                raise DatasetError(f"{path}:{row_number}: not a JSON object")
            yield ("purchase" if "items" in doc else "click"), doc


_READERS = {"jsonl": _read_jsonl, "rees46": _read_rees46, "sessions": _read_sessions, "cdnow": _read_cdnow}


def _sort_key(pair: tuple[str, dict]) -> int:
    ts = pair[1].get("ts")
    return ts if isinstance(ts, int) else 0


def read_events(paths: list[Path], fmt: str | None = None) -> list[tuple[str, dict]]:
    """All events of ``paths``, file after file, each file in event-time order."""
    events: list[tuple[str, dict]] = []
    for path in paths:
        chosen = fmt or detect_format(path)
        if chosen not in _READERS:
            raise DatasetError(f"unknown format {chosen!r}; choose one of {', '.join(FORMATS)}")
        events.extend(sorted(_READERS[chosen](path), key=_sort_key))
    return events
