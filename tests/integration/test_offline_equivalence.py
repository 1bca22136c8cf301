"""The worker on Kafka publishes exactly the scores the offline evaluation computes.

Kafka orders messages only within a partition, so the comparison needs one
consumption order both runs share: one partition, and one input topic (the
REES46 sample's views and carts, whose labels then all resolve as negatives
and still move the model). Across topics or partitions the worker's order
is the broker's, and an offline run can only approximate it.
"""

from pathlib import Path

import orjson

from scorer.datasets import read_events
from scorer.scoring import run_offline
from scorer.worker import make_pipeline, make_recommender
from tests.integration.conftest import consume, producer

REES46 = Path(__file__).resolve().parents[3] / "shared" / "data" / "rees46-2019-10-first17k.csv"


def test_scores_through_kafka_equal_the_offline_run(settings, start_worker_for):
    # A two-minute window, so that the first minutes of the sample already teach the model.
    settings = settings.replace(partitions=1, conversion_window_s=120.0)
    clicks = [(kind, doc) for kind, doc in read_events([REES46])[:1500] if kind == "click"]

    offline_pipeline = make_pipeline(settings, lineage="offline")
    offline = run_offline(clicks, offline_pipeline, make_recommender(settings), partitions=1)
    assert offline_pipeline.model.learned > 100  # the comparison covers a learning model

    start_worker_for(settings)
    out = producer(settings)
    for _, doc in clicks:
        out.produce(settings.topic_clickstream, key=doc["user_id"].encode(), value=orjson.dumps(doc))
    out.flush(10)
    published = [orjson.loads(m.value()) for m in consume(settings, settings.topic_scores_propensity, expected=len(clicks))]

    assert len(published) == len(offline.scored) == len(clicks)
    live = {score["event_id"]: score for score in published}
    expected_ids = [doc["event_id"] for _, doc in clicks]
    for event_id, scored in zip(expected_ids, offline.scored):
        assert live[event_id]["score"] == scored.score, event_id
