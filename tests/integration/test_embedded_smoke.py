"""The embedded broker stays honest: the demo's default runs a worker that scores, whatever the test broker is."""

from __future__ import annotations

import orjson

from scorer.tools import EmbeddedBroker, free_port
from tests.integration.conftest import consume, producer, isolated_settings
from tests.integration.test_worker_end_to_end import T0


def test_a_worker_on_the_embedded_broker_scores_every_click(tmp_path, start_worker_for):
    with EmbeddedBroker(free_port(), log_path=tmp_path / "broker.log") as embedded:
        settings = isolated_settings(embedded.bootstrap, tmp_path)
        worker = start_worker_for(settings)
        out = producer(settings)
        for i in range(40):
            user = f"user-{i % 5}"
            event = {"event_id": f"c{i}", "user_id": user, "ts": T0 + i * 10_000, "type": "product_view", "item_id": f"i{i % 7}"}
            out.produce(settings.topic_clickstream, key=user.encode(), value=orjson.dumps(event))
        out.flush(10)
        scores = consume(settings, settings.topic_scores_propensity, expected=40)
        assert len(scores) == 40, worker.log_text()[-3000:]
        assert {orjson.loads(m.value())["event_id"] for m in scores} == {f"c{i}" for i in range(40)}
        worker.stop()
