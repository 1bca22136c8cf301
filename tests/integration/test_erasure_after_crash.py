"""An erasure survives a SIGKILL right after it; a restored user's pending examples are learned.

The worker applies an erasure and is killed before its next commit (the commit interval is
0.5 s; it is killed as soon as ``/health`` shows the request applied). The restarted worker
restores state from the changelog and reads uncommitted input again. Whatever it reads, the
erased user stays absent and the last record for the user on each score topic is a tombstone.
Then a click dated past every window closes the windows of the restored users' pending
examples, which the restarted worker never saw being added.
"""

import signal
import time

import orjson

from scorer.events import partition_for
from tests.integration.conftest import commit_positions, consume, producer, user_status, wait_for_health

USERS = [f"u{i}" for i in range(24)]


def test_an_erasure_then_a_kill_leaves_the_user_erased_and_restored_windows_close(settings, start_worker_for):
    worker = start_worker_for(settings)
    out = producer(settings)
    # Event times three hours back (live traffic would be now): every window is open at the kill.
    base = int(time.time() * 1000) - 3 * 3_600_000
    clicks = [
        {"event_id": f"c{i}", "user_id": USERS[i % len(USERS)], "ts": base + i * 1_000, "type": "product_view",
         "item_id": f"i{i % 7}", "session_id": f"s{i % len(USERS)}"}
        for i in range(240)
    ]
    for doc in clicks:
        out.produce(settings.topic_clickstream, key=doc["user_id"].encode(), value=orjson.dumps(doc))
    out.flush(10)
    wait_for_health(settings, lambda d: d["accounting"]["scored"] == len(clicks), "every click scored")
    # Committed offsets at the end mean the records holding these clicks reached the changelog
    # (state is flushed just before each commit), so the restarted worker restores them.
    deadline = time.monotonic() + 30
    while not all(committed >= end for committed, end in commit_positions(settings)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(committed >= end for committed, end in commit_positions(settings))

    erased = USERS[0]
    erase = {"event_id": "k1", "user_id": erased, "ts": base + 300_000, "action": "erase"}
    out.produce(settings.topic_consent, key=erased.encode(), value=orjson.dumps(erase))
    out.flush(10)
    wait_for_health(settings, lambda d: d["accounting"]["consent_applied"] == 1, "the erasure applied")
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(10)

    restarted = start_worker_for(settings)
    # Absent once the restarted worker has read what was not committed (the erasure itself, if
    # its offset was not), and never back after that.
    deadline = time.monotonic() + 30
    while user_status(settings, erased) != 404 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert user_status(settings, erased) == 404
    # A click per partition, dated past every window, moves each partition's clock.
    late = base + 2 * 3_600_000
    movers = []
    for partition in range(settings.partitions):
        user = next(u for u in (f"m{i}" for i in range(500)) if partition_for(u.encode(), settings.partitions) == partition)
        movers.append({"event_id": f"move-{partition}", "user_id": user, "ts": late, "type": "page_view"})
    for doc in movers:
        out.produce(settings.topic_clickstream, key=doc["user_id"].encode(), value=orjson.dumps(doc))
    out.flush(10)
    doc = wait_for_health(settings, lambda d: d["accounting"]["scored"] >= len(movers) and d["accounting"]["buffered"] == 0,
                "the clock-moving clicks")
    learned = doc["learned"]
    assert learned["restored_pending"] > 0
    assert learned["examples"] >= learned["restored_pending"]  # every restored window closed and was learned
    assert user_status(settings, erased) == 404
    assert restarted.stop() == 0

    for topic in (settings.topic_scores_propensity, settings.topic_scores_recommendations):
        records = [m.value() for m in consume(settings, topic, expected=10_000, timeout_s=10) if m.key() == erased.encode()]
        assert records and records[-1] is None, topic
