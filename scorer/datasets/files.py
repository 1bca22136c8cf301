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
  The 1/10 sample that the BG/NBD paper uses (``CDNOW_sample.txt``, as shipped by
  lifetimes and BTYD) is read too: no header, and a second column holding the
  customer's number within the sample, which is skipped (the first stays the id).

An empty field means absent, as in the event contract: a REES46-layout row with no
``user_session`` (Taobao's, converted) gives a click without a session id, whose session
is then derived from inactivity (``scorer.events.sessions``); an empty brand, category or
price is left out.

Files are streamed, never held whole: :func:`read_events` reads each file once to
count its events and check that they are in event-time order (recorded files are,
in practice), then streams it again; a file that is not in order is sorted on disk
in chunks and merged (stable, so equal times keep file order), in bounded memory.
Several files are read one after another. A file compressed with gzip (``.gz``,
or any file that starts with gzip's magic bytes) is read transparently.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson

from scorer.events import InvalidEvent, parse_ts

FORMATS = ("jsonl", "rees46", "sessions", "cdnow")
_REES46_HEADER = "event_time,event_type,product_id"
_REES46_CLICK_TYPES = {"view": "product_view", "cart": "add_to_cart", "remove_from_cart": "remove_from_cart"}


class DatasetError(ValueError):
    """A dataset file that cannot be read as the named format."""


_GZIP_MAGIC = b"\x1f\x8b"


def _open(path: Path, mode: str = "r", **text: Any) -> IO[Any]:
    """Open ``path`` for reading, through gzip when it is compressed (by content, not by name)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    if not compressed:
        return open(path, mode, **text)
    raw = gzip.open(path, "rb")
    return raw if "b" in mode else io.TextIOWrapper(raw, **text)


def detect_format(path: Path) -> str:
    """Guess a file's format from its first line."""
    try:
        with _open(path, encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read it as text ({exc})") from None
    if first.startswith(_REES46_HEADER):
        return "rees46"
    if first.split("\t")[:2] == ["SessionId", "ItemId"]:
        return "sessions"
    if first.split()[:2] == ["customer_id", "date"] or _cdnow_fields(first) is not None:
        return "cdnow"
    if first.lstrip().startswith("{"):
        return "jsonl"
    raise DatasetError(f"{path}: cannot tell the format from its first line; name it with --format")


def _rees46_ts(text: str) -> int:
    """``"2019-10-01 00:00:00 UTC"`` in epoch ms (fromisoformat is about 10x faster than strptime).

    >>> _rees46_ts("2019-10-01 00:00:01 UTC")
    1569888001000
    """
    if len(text) != 23 or not text.endswith(" UTC"):
        raise ValueError(f"not a REES46 time: {text!r}")
    parsed = datetime.fromisoformat(text[:19]).replace(tzinfo=timezone.utc)
    return int(parsed.timestamp()) * 1000


def _read_rees46(path: Path) -> Iterator[tuple[str, dict]]:
    with _open(path, newline="", encoding="utf-8") as handle:
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
    with _open(path, encoding="utf-8") as handle:
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


def _cdnow_fields(line: str) -> tuple[str, str, str, str] | None:
    """``(customer, day, units, dollars)`` of a master (4 fields) or sample (5 fields) row, else None."""
    fields = line.split()
    if len(fields) == 5:
        del fields[1]
    if len(fields) != 4 or not (len(fields[1]) == 8 and fields[1].isdigit()):
        return None
    return fields[0], fields[1], fields[2], fields[3]


def _read_cdnow(path: Path) -> Iterator[tuple[str, dict]]:
    with _open(path, encoding="utf-8") as handle:
        for row_number, line in enumerate(handle, start=1):
            if not line.strip() or (row_number == 1 and line.split()[:1] == ["customer_id"]):
                continue
            try:
                fields = _cdnow_fields(line)
                if fields is None:
                    raise ValueError(line)
                customer, day, units, dollars = fields
                ts = int(datetime.strptime(day, "%Y%m%d").replace(tzinfo=timezone.utc).timestamp()) * 1000
                quantity, value = int(units), float(dollars)
            except ValueError:
                raise DatasetError(
                    f"{path}:{row_number}: not a CDNOW row (customer_id [sample_id] date number_of_cds dollar_value)"
                ) from None
            price = value / quantity if quantity else value
            yield "purchase", {
                "event_id": f"{path.stem}:{row_number}",
                "user_id": customer,
                "ts": ts,
                "order_id": f"{customer}:{row_number}",
                "items": [{"item_id": "cd", "price": round(price, 6), "quantity": max(quantity, 1)}],
            }


def _read_jsonl(path: Path) -> Iterator[tuple[str, dict]]:
    with _open(path, "rb") as handle:
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
    if isinstance(ts, int) and not isinstance(ts, bool):
        return ts
    try:
        return parse_ts(ts)
    except InvalidEvent:
        # Left for the decoder to reject; its place in the order does not matter.
        return 0


#: Events an out-of-order file is sorted by in memory at a time before a chunk goes to disk.
SORT_CHUNK = 200_000


class EventFile:
    """One dataset file, streamed in event-time order; ``len()`` counts its events.

    The first use reads it once (count and order check); iterating reads it again,
    straight through when it was in order, through an on-disk merge sort otherwise.
    """

    def __init__(self, path: Path, fmt: str | None = None, sort_chunk: int = SORT_CHUNK) -> None:
        chosen = fmt or detect_format(path)
        if chosen not in _READERS:
            raise DatasetError(f"unknown format {chosen!r}; choose one of {', '.join(FORMATS)}")
        self.path = path
        self.format = chosen
        self.sort_chunk = sort_chunk
        self._count: int | None = None
        self._ordered = True

    def _read(self) -> Iterator[tuple[str, dict]]:
        try:
            yield from _READERS[self.format](self.path)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            # A truncated or corrupt .gz, or bytes that are not UTF-8: the file, not the code.
            raise DatasetError(f"{self.path}: cannot read it as {self.format} ({exc})") from None

    def _scan(self) -> None:
        count, last, ordered = 0, None, True
        for pair in self._read():
            ts = _sort_key(pair)
            if last is not None and ts < last:
                ordered = False
            last = ts if last is None or ts > last else last
            count += 1
        self._count, self._ordered = count, ordered

    def __len__(self) -> int:
        if self._count is None:
            self._scan()
        assert self._count is not None
        return self._count

    @property
    def ordered(self) -> bool:
        """Whether the file is in event-time order as stored (then it is streamed as is)."""
        len(self)
        return self._ordered

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        if self.ordered:
            return self._read()
        return _external_sort(self._read(), _sort_key, self.sort_chunk)


def _external_sort(
    pairs: Iterable[tuple[str, dict]], key: Callable[[tuple[str, dict]], int], chunk: int
) -> Iterator[tuple[str, dict]]:
    """``pairs`` sorted by ``key`` (stable) in memory for ``chunk`` pairs at a time, merged from temporary files.

    >>> pairs = [("click", {"ts": t, "n": n}) for n, t in enumerate([3, 1, 2, 1, 0])]
    >>> [(p[1]["ts"], p[1]["n"]) for p in _external_sort(pairs, lambda p: p[1]["ts"], chunk=2)]
    [(0, 4), (1, 1), (1, 3), (2, 2), (3, 0)]
    """
    with tempfile.TemporaryDirectory(prefix="scorer-sort-") as spill:
        runs: list[Path] = []
        buffer: list[tuple[int, int, tuple[str, dict]]] = []

        def write_run() -> None:
            buffer.sort(key=lambda entry: (entry[0], entry[1]))
            run = Path(spill) / f"run-{len(runs)}.jsonl"
            with open(run, "wb") as out:
                for ts, seq, pair in buffer:
                    out.write(orjson.dumps([ts, seq, pair[0], pair[1]]) + b"\n")
            runs.append(run)
            buffer.clear()

        for seq, pair in enumerate(pairs):
            buffer.append((key(pair), seq, pair))
            if len(buffer) >= chunk:
                write_run()
        if not runs:  # it all fitted in one chunk: no disk needed
            buffer.sort(key=lambda entry: (entry[0], entry[1]))
            for _, _, pair in buffer:
                yield pair
            return
        if buffer:
            write_run()

        def read_run(run: Path) -> Iterator[tuple[int, int, str, dict]]:
            with open(run, "rb") as handle:
                for line in handle:
                    ts, seq, kind, doc = orjson.loads(line)
                    yield ts, seq, kind, doc

        for _, _, kind, doc in heapq.merge(*(read_run(run) for run in runs)):
            yield kind, doc


class Recording:
    """The events of several files, file after file, each in event-time order; ``len()`` is their total.

    ``starts`` gives the index of each file's first event (for "count from the N-th file").
    Every file is scanned up front, so a broken row fails here, before anything was sent
    or learned.
    """

    def __init__(self, paths: Iterable[Path], fmt: str | None = None, sort_chunk: int = SORT_CHUNK) -> None:
        self.files = [EventFile(Path(path), fmt, sort_chunk) for path in paths]
        for f in self.files:
            len(f)

    def __len__(self) -> int:
        return sum(len(f) for f in self.files)

    @property
    def starts(self) -> list[int]:
        starts, total = [], 0
        for f in self.files:
            starts.append(total)
            total += len(f)
        return starts

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        for f in self.files:
            yield from f

    def __getitem__(self, index: Any) -> Any:
        """Indexing materialises the events: for small files and tests."""
        return list(self)[index]


def read_events(paths: list[Path], fmt: str | None = None) -> Recording:
    """The events of ``paths``, file after file, each file in event-time order, streamed."""
    return Recording(paths, fmt)
