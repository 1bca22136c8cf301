"""The recommender's snapshot off the event loop: same bytes as sealing on it, and the loop runs meanwhile."""

from __future__ import annotations

import asyncio
import threading
import time

import scorer.worker.recommender_feed as recommender_feed
from scorer.recommend import Recommender, RecommenderReplica
from scorer.scoring import ModelSnapshot, seal, unseal
from scorer.settings import Settings
from scorer.worker.recommender_feed import RecommenderFeed
from tests.unit.recommend.test_replica import browsing

KEY = "k" * 32
NOW_S = 1_700_000_000.0


def fed_replica(n_events: int = 3_000) -> RecommenderReplica:
    replica = RecommenderReplica(Recommender())
    for event in browsing(n_users=200, n_events=n_events, n_items=400):
        replica.observe(event)
    return replica


def feed_of(replica: RecommenderReplica, produced: list[bytes], **settings) -> RecommenderFeed:
    feed = RecommenderFeed(
        Settings(model_key=KEY, **settings), replica, lambda topic, key, value: produced.append(value), consumer=object()
    )
    feed.positions = {"clickstream/0": 1_234, "purchases/0": 56}
    return feed


def test_the_async_save_writes_the_bytes_of_the_synchronous_seal():
    replica, produced = fed_replica(), []
    feed = feed_of(replica, produced)
    size = asyncio.run(feed.save_async(NOW_S))
    expected = seal(ModelSnapshot(replica, dict(feed.positions), int(NOW_S * 1000), {"sessions": len(replica)}), KEY.encode())
    assert size == len(expected) and produced == [expected]
    restored = unseal(produced[0], KEY.encode())
    assert restored.positions == feed.positions and restored.created_ts == int(NOW_S * 1000)
    for user in list(replica.sessions)[:20]:
        assert restored.model.recommend(user, 10).items == replica.recommend(user, 10).items
    assert feed.saved == 1 and feed.last_stall_s is not None


def test_the_loop_runs_while_the_snapshot_is_compressed_and_tagged():
    sealing, ticked_while_sealing = threading.Event(), threading.Event()
    real = recommender_feed.finish_seal

    def observed_finish_seal(payload: bytes, key: bytes) -> bytes:
        sealing.set()
        sealed = real(payload, key)
        # Not a latency bound: only that the loop got to run at all while this thread sealed.
        assert ticked_while_sealing.wait(2.0), "the event loop did not run while the snapshot was sealed"
        return sealed

    async def scenario() -> int:
        produced: list[bytes] = []
        feed = feed_of(fed_replica(), produced)
        done = False

        async def ticker() -> None:
            while not done:
                if sealing.is_set():
                    ticked_while_sealing.set()
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        try:
            await feed.save_async(NOW_S)
        finally:
            done = True
            await task
        return len(produced)

    recommender_feed.finish_seal = observed_finish_seal
    try:
        assert asyncio.run(scenario()) == 1
    finally:
        recommender_feed.finish_seal = real
    assert ticked_while_sealing.is_set()


def test_never_two_snapshots_in_flight_and_the_stop_snapshot_is_produced_last():
    async def scenario() -> tuple[list[int], list[bytes], RecommenderFeed]:
        produced: list[bytes] = []
        feed = feed_of(fed_replica(600), produced, reco_snapshot_interval_s=0.001)
        await asyncio.sleep(0.01)  # past the interval
        timer = asyncio.create_task(feed.save_if_due_async(True))
        await asyncio.sleep(0)  # the timer's snapshot is sealing in its thread now
        second = await feed.save_if_due_async(True)
        feed.positions["clickstream/0"] += 1
        stop = await feed.save_at_stop(True)
        return [await timer, second, stop], produced, feed

    sizes, produced, feed = asyncio.run(scenario())
    assert sizes[0] > 0 and sizes[1] == 0 and sizes[2] > 0
    assert [unseal(raw, KEY.encode()).positions["clickstream/0"] for raw in produced] == [1_234, 1_235]
    assert feed.saved == 2


def test_a_non_writer_does_not_save():
    produced: list[bytes] = []
    feed = feed_of(fed_replica(100), produced, reco_snapshot_interval_s=0.001)
    time.sleep(0.01)
    assert asyncio.run(feed.save_if_due_async(False)) == 0 and produced == []
