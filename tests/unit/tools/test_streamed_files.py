"""Dataset files are streamed in event-time order with bounded memory, sorted on disk when they are not in order."""

from __future__ import annotations

import gzip
import random
import tracemalloc
from pathlib import Path

import orjson

from scorer.datasets import EventFile, read_events


def _click(n: int, ts: int) -> bytes:
    return orjson.dumps({"event_id": f"e{n}", "user_id": f"u{n % 7}", "ts": ts, "type": "page_view"}) + b"\n"


def test_an_ordered_file_streams_as_stored_and_counts_up_front(tmp_path: Path) -> None:
    path = tmp_path / "ordered.jsonl"
    path.write_bytes(b"".join(_click(n, 1_000 + n // 3) for n in range(1_000)))
    events = EventFile(path)
    assert len(events) == 1_000 and events.ordered
    assert [e["event_id"] for _, e in events] == [f"e{n}" for n in range(1_000)]


def test_an_unordered_file_is_merge_sorted_on_disk_stably(tmp_path: Path) -> None:
    rng = random.Random(7)
    times = [rng.randrange(0, 50) for _ in range(2_000)]
    path = tmp_path / "shuffled.jsonl"
    path.write_bytes(b"".join(_click(n, 1_000 + t) for n, t in enumerate(times)))
    events = EventFile(path, sort_chunk=128)  # 16 runs on disk
    assert not events.ordered
    got = [(e["ts"], int(e["event_id"][1:])) for _, e in events]
    # Sorted by time; equal times keep file order (the sort is stable across runs).
    assert got == sorted((1_000 + t, n) for n, t in enumerate(times))


def test_rfc3339_times_are_ordered_by_their_instant(tmp_path: Path) -> None:
    path = tmp_path / "strings.jsonl"
    path.write_bytes(
        orjson.dumps({"event_id": "late", "user_id": "u", "ts": "2026-01-01T00:10:00Z", "type": "page_view"}) + b"\n"
        + orjson.dumps({"event_id": "early", "user_id": "u", "ts": 1767225600000, "type": "page_view"}) + b"\n"
    )
    assert [e["event_id"] for _, e in read_events([path])] == ["early", "late"]


def test_gzip_is_recognised_by_content_whatever_the_name(tmp_path: Path) -> None:
    body = b"".join(_click(n, 1_000 + n) for n in range(50))
    packed = tmp_path / "events.bin"
    packed.write_bytes(gzip.compress(body))
    plain = tmp_path / "events.jsonl"
    plain.write_bytes(body)
    assert list(read_events([packed])) == list(read_events([plain]))


def test_streaming_holds_a_bounded_number_of_events(tmp_path: Path) -> None:
    # 40,000 events (about 3 MB of JSON): iterating must not hold them all at once.
    path = tmp_path / "many.jsonl.gz"
    with gzip.open(path, "wb") as out:
        for n in range(40_000):
            out.write(_click(n, 1_000 + n))
    events = read_events([path])
    assert len(events) == 40_000 and events.starts == [0]
    tracemalloc.start()
    try:
        count = sum(1 for _ in events)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40_000
    # A list of 40,000 event dicts alone would take over 20 MB.
    assert peak < 2_000_000, peak
