"""Users idle beyond the TTL in event time leave the state, on RocksDB, through the worker's sweep."""

import time

import orjson

from scorer.events import partition_for
from tests.integration.conftest import producer, user_status

T0 = 1_767_225_600_000
DAY_MS = 86_400_000


def test_idle_users_are_swept_and_active_ones_stay(settings, start_worker_for):
    settings = settings.replace(store="rocksdb", sweep_interval_s=1.0)
    # Two users on the same partition, whose event time the newer one moves past the TTL.
    old = "old-user"
    new = next(f"user-{i}" for i in range(1000) if partition_for(f"user-{i}".encode(), settings.partitions) == partition_for(old.encode(), settings.partitions))
    start_worker_for(settings)
    out = producer(settings)
    for user, ts in ((old, T0), (new, T0 + 91 * DAY_MS)):
        event = {"event_id": f"{user}-1", "user_id": user, "ts": ts, "type": "page_view"}
        out.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(event))
    out.flush(10)
    deadline = time.monotonic() + 30
    while user_status(settings, new) != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    while user_status(settings, old) != 404 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert user_status(settings, old) == 404
    assert user_status(settings, new) == 200
