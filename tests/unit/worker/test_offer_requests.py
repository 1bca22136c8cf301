"""GET /users/{id}/offer: a decision on request, from the worker that holds the user."""

import orjson

from scorer.offers import Catalogue, Offer
from scorer.propensity.model import PropensityModel
from scorer.scoring import MemoryStore, ScoringPipeline
from scorer.settings import Settings
from scorer.worker import EventProcessor, RecordCache, make_offer_model
from scorer.worker.offers import offer_on_request
from tests.fakes import MemoryPublisher

SETTINGS = Settings()
T0 = 1_767_225_600_000


def make(catalogue: Catalogue):
    publisher = MemoryPublisher()
    cache = RecordCache(MemoryStore(), lambda p, k, v: None, publisher.flush)
    model = make_offer_model(SETTINGS, catalogue)
    processor = EventProcessor(
        SETTINGS, ScoringPipeline(PropensityModel("logreg", lineage="t")), cache, publisher, clock=lambda: 1_800_000_000.0,
        user_models=[model],
    )
    return processor, publisher, model


def visit(processor, user: str, n: int, ts: int, category: str = "c1") -> None:
    event = {"event_id": f"{user}-{n}", "user_id": user, "ts": ts, "type": "page_view", "item_id": "i1", "category": category}
    processor.process(SETTINGS.topic_clickstream, 0, n, user.encode(), orjson.dumps(event))


def test_a_requested_offer_is_decided_published_and_joined_like_a_triggered_one():
    processor, publisher, model = make(Catalogue([Offer("a"), Offer("b", categories=("c2",))]))
    visit(processor, "u1", 0, T0)  # a page view: no trigger, no decision
    assert publisher.on(SETTINGS.topic_scores_offers) == [] and model.decisions == 0
    doc = offer_on_request(processor, SETTINGS, model, "u1", "req-1", 1_800_000_000_000)
    # The latest click's category decides eligibility: only "a" is for c1.
    assert doc["offer_id"] == "a" and doc["propensity"] == 1.0 and doc["event_ts"] == T0 and doc["event_id"] == "req-1"
    [published] = publisher.on(SETTINGS.topic_scores_offers)
    assert published.key == b"u1" and orjson.loads(published.value) == doc
    assert model.decisions == 1 and len(model.join) == 1
    assert model.feedback(doc["decision_id"], "click", T0 + 5_000) == "joined"
    # The page asked: the frequency cap does not apply, and another request is another decision.
    again = offer_on_request(processor, SETTINGS, model, "u1", "req-2", 1_800_000_000_000)
    assert again["decision_id"] != doc["decision_id"] and model.decisions == 2


def test_no_offer_for_an_unknown_or_opted_out_user_nor_without_eligible_offers():
    processor, publisher, model = make(Catalogue([Offer("b", categories=("c2",))]))
    assert offer_on_request(processor, SETTINGS, model, "nobody", "req-1", 0) is None
    visit(processor, "u1", 0, T0)
    assert offer_on_request(processor, SETTINGS, model, "u1", "req-1", 0) == {"user_id": "u1", "offer_id": None, "reason": "none_eligible"}
    consent = orjson.dumps({"event_id": "k1", "user_id": "u1", "ts": T0 + 1, "action": "opt_out"})
    processor.process(SETTINGS.topic_consent, 0, 0, b"u1", consent)
    assert offer_on_request(processor, SETTINGS, model, "u1", "req-2", 0)["reason"] == "opted_out"
    empty, _, off = make(Catalogue())
    visit(empty, "u2", 0, T0)
    assert offer_on_request(empty, SETTINGS, off, "u2", "req-3", 0)["reason"] == "no_catalogue"
    assert publisher.on(SETTINGS.topic_scores_offers) == [] and model.decisions == 0
