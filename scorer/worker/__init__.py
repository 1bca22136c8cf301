"""The production process: the Faust worker, the only room that knows Faust.

``app`` wires the Faust app (topics, table, agent, timers) and nothing else; ``wiring``
is the composition root (settings to models and policies); ``processor`` is the
per-message layer over the engine (decode, key check, publish or dead-letter, metrics);
``state`` keeps user records in a write-back cache over the changelog-backed table;
``checkpoints`` seals and resumes the model; ``training`` shares resolved examples
between workers; ``web`` holds the HTTP views; ``prometheus`` the metrics and their
refresh; ``faust_patches`` the one place that adjusts Faust's internals; ``preflight``
the start-up checks that fail in one line (busy port, locked directory, lost topics).
"""

from scorer._faces import lazy_face

# Imported on first use: importing Faust costs a second and patches the event loop, which ``scorer evaluate`` and the benchmarks' pure parts must not pay for.
_EXPORTS = {
    "USER_TABLE": "app",
    "Worker": "app",
    "run_worker": "app",
    "list_policy": "wiring",
    "make_pipeline": "wiring",
    "make_recommender": "wiring",
    "make_lifetime_value": "wiring",
    "make_segments": "wiring",
    "make_user_models": "wiring",
    "user_model": "wiring",
    "make_offer_model": "wiring",
    "EventProcessor": "processor",
    "PartitionedStore": "state",
    "RecordCache": "state",
    "Checkpoints": "checkpoints",
    "ModelCheckpointer": "checkpoints",
    "POSITION_KEY": "training",
    "SharedTraining": "training",
    "RecommenderFeed": "recommender_feed",
    "CONTENT_TYPE_LATEST": "prometheus",
    "GaugeRefresher": "prometheus",
    "ScorerMetrics": "prometheus",
    "WorkerView": "web",
    "add_views": "web",
    "authorized": "web",
    "describe_models": "web",
    "describe_segments": "web",
    "describe_user": "web",
    "health": "web",
    "limit_fetch_wait": "faust_patches",
    "StartupError": "preflight",
    "claim_data_dir": "preflight",
    "claim_web_port": "preflight",
    "port_in_use": "preflight",
    "broker_state": "web",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, globals(), _EXPORTS)
