"""The worker's HTTP views: health, metrics, models and users, as functions over a read-only view.

The views need a handful of the worker's objects, never the Faust app itself, so they
take a :class:`WorkerView` (the worker satisfies it) and this module imports nothing of
``app``. :func:`add_views` registers them on a Faust app's web server.
"""

from __future__ import annotations

import hmac
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from scorer.events import partition_for
from scorer.scoring import InputAligner, ScoringPipeline
from scorer.settings import Settings
from scorer.worker.checkpoints import ModelCheckpointer
from scorer.worker.offers import offer_on_request
from scorer.worker.wiring import user_model
from scorer.worker.processor import EventProcessor
from scorer.worker.recommender_feed import RecommenderFeed
from scorer.worker.training import SharedTraining

__all__ = [
    "MAX_LIST_K", "WorkerView", "add_views", "authorized", "broker_state", "describe_models", "describe_segments",
    "describe_user", "health", "recommend_for",
]


class WorkerView(Protocol):
    """What the views read of a worker."""

    settings: Settings
    pipeline: ScoringPipeline
    processor: EventProcessor | None
    checkpointer: ModelCheckpointer
    training: SharedTraining | None
    aligner: InputAligner[Any]
    recommender_feed: RecommenderFeed | None
    #: The per-user models (segments, lifetime value, offers), built once with the worker.
    user_models: Sequence[Any]

    def assignment(self) -> Iterable[Any]: ...


def authorized(token: str, header: str) -> bool:
    """True when no token is configured, or ``header`` (Authorization) carries it as a bearer token.

    The header arrives as decoded by the HTTP server, possibly with bytes that are no
    text at all (kept as surrogate escapes); those are a wrong token, never an error.

    >>> authorized("s3cret", "Bearer s3cret"), authorized("s3cret", "Bearer s3cr\u00e9t"), authorized("s3cret", chr(0xDCFF))
    (True, False, False)
    """
    if not token:
        return True
    presented = header.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(presented, f"Bearer {token}".encode())


def broker_state(publisher: Any) -> dict[str, Any]:
    """What the worker's producer knows of the broker: reachable or not, and for how long not."""
    if publisher is None:
        return {"reachable": None}
    # Serves librdkafka's callbacks, the connection-state report among them, without blocking.
    publisher.poll()
    since = publisher.unreachable_since
    return {
        "reachable": publisher.broker_reachable,
        "unreachable_for_s": round(time.monotonic() - since, 1) if since is not None else None,
    }


def health(view: WorkerView) -> dict[str, Any]:
    """GET /health: assigned partitions, message counts and the model version."""
    processor = view.processor
    model = view.pipeline.model
    broker = broker_state(getattr(view, "publisher", None))
    return {
        # Answers during a broker outage too, and says so: the worker resumes when the broker is back.
        "status": "broker_unreachable" if broker["reachable"] is False else "ok",
        "pid": os.getpid(),
        "broker": broker,
        "assigned_partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in view.assignment()),
        "consumed": dict(processor.consumed) if processor else {},
        "scored": processor.scored if processor else 0,
        "replayed": processor.replayed if processor else 0,
        "rejected": dict(processor.rejected) if processor else {},
        # Where every consumed message went; "unaccounted" stays 0.
        "accounting": processor.accounting() if processor else {},
        # Resolved examples the propensity model learned, and how many were purchases.
        "learned": {
            "examples": view.pipeline.learned,
            "positive": view.pipeline.learned_positive,
            # Examples found pending in records restored from the changelog and queued for their windows.
            "restored_pending": processor.engine.restored_pending if processor else 0,
        },
        # Events released in event-time order on a time bound, while another input might have held older ones.
        "aligned_early": view.aligner.released_early,
        "model": model.name,
        "model_version": model.version,
    }


def describe_models(view: WorkerView, now_s: float) -> dict[str, Any]:
    """GET /models: the propensity model's state, its live quality, the checkpoint state and the lifetime-value parameters."""
    settings, training, checkpointer = view.settings, view.training, view.checkpointer
    checkpoints = checkpointer.checkpoints
    saved = checkpoints.last_saved_ts
    return {
        "propensity": view.pipeline.model.status(),
        "quality": view.pipeline.quality.report(),
        "conversion_window_s": settings.conversion_window_s,
        "training": {
            "mode": settings.training,
            "position": training.position if training else None,
            "published": training.published if training else None,
        },
        "checkpoint": {
            "enabled": checkpoints.enabled,
            "topic": checkpoints.topic,
            "saved": checkpoints.saved,
            "age_s": now_s - saved if saved is not None else None,
            "bytes": checkpoints.last_size,
            "resumed_from": checkpointer.resumed_from,
        },
        "recommender": view.recommender_feed.status() if view.recommender_feed is not None else {"feed": "owned"},
        "clv": clv.parameters() if (clv := user_model(view.user_models, "clv")) is not None else None,
    }


def describe_segments(view: WorkerView) -> dict[str, Any] | None:
    """GET /segments: each segment's size, profile and purchase rate over the users this worker holds.

    Each RFM segment also gets the live quality of the clicks scored in it (the
    propensity model's mean score, the positive rate and the calibration gap over
    the quality window, ``None`` before a label resolved there): the mean propensity
    of a segment is that of its scored clicks, judged by the segment they were in.
    """
    model = user_model(view.user_models, "segments")
    if model is None:
        return None
    summary = model.summary()
    quality = view.pipeline.quality.report()["segments"].get("rfm", {})
    for name, entry in summary["rfm"].items():
        judged = quality.get(name) or {"count": 0}
        entry["propensity"] = {key: judged.get(key) for key in ("count", "mean_score", "positive_rate", "calibration_gap")}
    return summary


def describe_user(view: WorkerView, user_id: str) -> dict[str, Any] | None:
    """GET /users/{id}, answered from this worker's state; None for a user it does not hold."""
    if view.processor is None:
        return None
    key = user_id.encode()
    record = view.processor.cache.get(partition_for(key, view.settings.partitions), key)
    # An erasure leaves only a marker, which says nothing about the user: unknown, as before they came.
    if record is None or record.is_marker:
        return None
    return view.processor.engine.describe(record, user_id)


#: Longest list ``GET /users/{id}/recommendations?k=N`` answers.
MAX_LIST_K = 100


def recommend_for(view: WorkerView, user_id: str, k: int) -> dict[str, Any] | None:
    """GET /users/{id}/recommendations: a list from the live model now; None when this worker cannot say.

    With the all-partitions feed every worker knows every user's session, so any worker
    answers; otherwise only the owner of the user's partition does, from the user's record.
    """
    feed = view.recommender_feed
    if feed is not None:
        built = feed.recommend(user_id, k)
    else:
        processor = view.processor
        if processor is None or processor.engine.recommender is None:
            return None
        key = user_id.encode()
        record = processor.cache.get(partition_for(key, view.settings.partitions), key)
        if record is None or record.is_marker:
            return None
        recommender = processor.engine.recommender
        built = recommender.recommend_on_demand(record.session, user_id, record.touched, k)
    return {"user_id": user_id, "strategy": built.strategy, "items": [{"item_id": item, "score": score} for item, score in built.items]}


def add_views(app: Any, users: Any, view: WorkerView, exposition: Callable[[], tuple[bytes, str]]) -> None:
    """Register the views on ``app`` (a Faust app); ``users`` is the table ``/users/{id}`` is routed by.

    ``exposition`` returns the Prometheus text and its content type, refreshed at scrape time.
    """
    token = view.settings.api_token

    def refused(web: Any, request: Any) -> Any | None:
        headers = request.headers.getall("Authorization", [])
        if len(headers) <= 1 and authorized(token, headers[0] if headers else ""):
            return None
        return web.json({"error": "missing or wrong bearer token"}, status=401)

    def about_user(web: Any, user_id: str, found: Any) -> Any:
        # Nothing found for the user here, after routing to the owner: they are unknown.
        if found is None:
            return web.json({"error": "unknown user", "user_id": user_id}, status=404)
        return web.json(found)

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        return web.json(health(view))

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        body, content_type = exposition()
        # aiohttp refuses a charset inside content_type; the full header goes in as is.
        return web.bytes(body, headers={"Content-Type": content_type})

    @app.page("/models")
    async def models_page(web: Any, request: Any) -> Any:
        return refused(web, request) or web.json(describe_models(view, time.time()))

    @app.page("/segments")
    async def segments_page(web: Any, request: Any) -> Any:
        denied = refused(web, request)
        if denied is not None:
            return denied
        summary = describe_segments(view)
        if summary is None:
            return web.json({"error": "no segment model on this worker yet"}, status=404)
        return web.json(summary)

    # Faust's table routing forwards the request (headers included) to the
    # worker that owns the user's partition; that worker answers from its own state.
    @app.page("/users/{user_id}")
    @app.table_route(table=users, match_info="user_id")
    async def user_page(web: Any, request: Any, user_id: str) -> Any:
        denied = refused(web, request)
        if denied is not None:
            return denied
        found = describe_user(view, user_id)
        return about_user(web, user_id, found)

    async def list_page(web: Any, request: Any, user_id: str) -> Any:
        denied = refused(web, request)
        if denied is not None:
            return denied
        try:
            k = int(request.query.get("k", view.settings.reco_k))
        except ValueError:
            k = 0
        if not 1 <= k <= MAX_LIST_K:
            return web.json({"error": f"k must be an integer from 1 to {MAX_LIST_K}"}, status=400)
        found = recommend_for(view, user_id, k)
        return about_user(web, user_id, found)

    @app.page("/offers")
    async def offers_page(web: Any, request: Any) -> Any:
        denied = refused(web, request)
        if denied is not None:
            return denied
        model = user_model(view.user_models, "offers")
        if model is None:
            return web.json({"error": "no offer model on this worker yet"}, status=404)
        return web.json(model.summary())

    # The owner of the user's partition decides: it holds the user's features and the pending decision.
    @app.page("/users/{user_id}/offer")
    @app.table_route(table=users, match_info="user_id")
    async def offer_page(web: Any, request: Any, user_id: str) -> Any:
        denied = refused(web, request)
        if denied is not None:
            return denied
        model = user_model(view.user_models, "offers")
        if model is None or view.processor is None:
            return web.json({"error": "no offer model on this worker yet"}, status=404)
        # The request's own id seeds the decision's draws (a triggered decision uses the event's id).
        found = offer_on_request(view.processor, view.settings, model, user_id, f"req-{uuid.uuid4().hex}", int(time.time() * 1000))
        return about_user(web, user_id, found)

    # With the all-partitions feed any worker answers for any user; otherwise the owner does.
    if view.recommender_feed is None:
        list_page = app.table_route(table=users, match_info="user_id")(list_page)
    app.page("/users/{user_id}/recommendations")(list_page)
