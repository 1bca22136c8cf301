"""One frozen settings object, read once at the entry point.

Every field ``name`` is read from the environment variable ``SCORER_<NAME>``
(the name upper-cased), and the command line may override some of them. The
README's settings table is generated from :data:`Settings` fields and a test
keeps it in step.

>>> s = Settings.from_env({"SCORER_PARTITIONS": "4", "SCORER_BROKER": "kafka:9092"})
>>> s.partitions, s.broker, s.web_port
(4, 'kafka:9092', 6066)
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scorer.events import CLICK_TYPES
from scorer.propensity import CONVERSION_WINDOW_S

ENV_PREFIX = "SCORER_"
#: Recommender components whose blend weights SCORER_RECO_WEIGHTS sets.
RECO_COMPONENTS = ("repeat", "cooccurrence", "transitions", "knn", "popularity")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def _setting(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


class SettingsError(ValueError):
    """A setting has a value the scorer cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about the scorer."""

    broker: str = _setting("127.0.0.1:9092", "Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].")
    partitions: int = _setting(8, "Partitions of every user-keyed topic (inputs, outputs, consent, DLQ).")
    replication_factor: int = _setting(1, "Replication factor of the topics the scorer creates.")
    app_id: str = _setting("scorer", "Faust app id: the consumer group and the prefix of internal topics.")
    web_host: str = _setting("127.0.0.1", "Address the worker's HTTP server binds to.")
    advertised_host: str = _setting(
        "", "Host other workers use to reach this one's HTTP port (empty: SCORER_WEB_HOST, or the hostname if that is 0.0.0.0)."
    )
    web_port: int = _setting(6066, "The worker's HTTP port (/health, and later /metrics, /users).")
    data_dir: str = _setting(".scorer-data", "Directory for local state (RocksDB tables, logs).")
    store: str = _setting("rocksdb", "Table store: `rocksdb` (on disk, via rocksdict) or `memory`.")
    topic_clickstream: str = _setting("clickstream", "Input topic of click events.")
    topic_purchases: str = _setting("purchases", "Input topic of purchase events.")
    topic_consent: str = _setting("consent", "Input topic of consent and erasure requests (compacted).")
    topic_scores_propensity: str = _setting("scores.propensity", "Output topic of propensity scores.")
    topic_scores_recommendations: str = _setting(
        "scores.recommendations", "Output topic of recommendation lists."
    )
    topic_scores_clv: str = _setting("scores.clv", "Output topic of customer lifetime values (compacted, keyed by user).")
    topic_scores_segments: str = _setting(
        "scores.segments", "Output topic of customer segments (RFM and cluster), published when a user's segment changes."
    )
    segment_clusters: int = _setting(6, "Most behavioural clusters the segment model keeps (their ids are stable).")
    segment_min_dwell_days: float = _setting(
        7.0, "Days of event time a user stays in a behavioural cluster before they may move to another."
    )
    # Next-best offer (scorer/offers).
    topic_offers: str = _setting("offers", "Input topic of the offer catalogue, keyed by offer id (compacted; empty: no offers).")
    topic_offers_feedback: str = _setting("offers.feedback", "Input topic of offer impressions and clicks, keyed by user.")
    topic_scores_offers: str = _setting("scores.offers", "Output topic of offer decisions, keyed by user (a log: delete, not compact).")
    offers_policy: str = _setting("linucb", "Offer bandit: `linucb` (contextual), `epsilon` or `thompson` (per segment).")
    offers_floor: float = _setting(0.02, "Exploration floor: this share of decisions is drawn uniformly among the eligible offers.")
    offers_triggers: str = _setting("product_view", "Event types that get an offer decision (comma-separated).")
    offers_min_interval_s: float = _setting(60.0, "Frequency cap: at most one offer decision per user per this many seconds of event time.")
    offers_purchase_reward: bool = _setting(True, "A purchase within the conversion window after a decision rewards it as a click does.")
    topic_dlq: str = _setting("scorer.dlq", "Dead-letter topic for rejected input.")
    topic_models: str = _setting("scorer.models", "Compacted topic of sealed model snapshots (one partition).")
    topic_training: str = _setting(
        "scorer.training", "Resolved examples every worker learns from with SCORER_TRAINING=shared (one partition)."
    )
    topic_recommender: str = _setting(
        "scorer.recommender", "Compacted topic of sealed recommender snapshots (one partition), with SCORER_RECO_FEED=all."
    )
    model: str = _setting("logreg", "Propensity model, by registry name: `logreg` (the one registered).")
    conversion_window_s: float = _setting(CONVERSION_WINDOW_S, "A purchase within this many seconds of a click labels it positive.")
    training: str = _setting(
        "local",
        "`local`: a worker learns the examples of its own partitions (offline runs match it exactly). "
        "`shared`: every worker learns every worker's examples, read back from SCORER_TOPIC_TRAINING.",
    )
    model_key: str = _setting(
        "", "Secret key that authenticates model snapshots (HMAC-SHA256). Empty: models are not checkpointed."
    )
    checkpoint_interval_s: float = _setting(60.0, "How often the model is snapshotted to SCORER_TOPIC_MODELS (and at shutdown).")
    quality_window: int = _setting(5000, "Resolved examples in the sliding window of live model quality.")
    drift_margin: float = _setting(
        0.05, "A challenger replaces the champion when its windowed log loss is lower by this fraction."
    )
    reco_k: int = _setting(10, "Items per published recommendation list.")
    reco_triggers: str = _setting(
        "product_view,add_to_cart,purchase", "Event types that publish a recommendation list (comma-separated)."
    )
    reco_min_interval_s: float = _setting(
        5.0, "At most one list per user per this many seconds of event time (carts and purchases excepted)."
    )
    reco_weights: str = _setting(
        "repeat=2.0,cooccurrence=1.0,transitions=2.0,knn=1.0,popularity=0.1",
        "Blend weights of the recommenders: in-session repeats, co-occurrence, sequential rules on the last two views, session-kNN, popularity.",
    )
    reco_exclude_purchased: bool = _setting(True, "Never recommend what the user already bought.")
    reco_exclude_cart: bool = _setting(False, "Never recommend what is in the user's cart.")
    reco_push: bool = _setting(True, "Publish lists on SCORER_RECO_TRIGGERS; off: lists only on demand (GET /users/{id}/recommendations).")
    reco_feed: str = _setting(
        "all",
        "`all`: every worker's recommender learns every partition's events (a consumer outside the group), "
        "snapshotted to SCORER_TOPIC_RECOMMENDER. `owned`: each learns its own partitions only, in memory.",
    )
    reco_sessions: int = _setting(1_000_000, "Most user sessions a worker's recommender remembers with SCORER_RECO_FEED=all.")
    reco_snapshot_interval_s: float = _setting(300.0, "How often the recommender is snapshotted (and at shutdown) with SCORER_RECO_FEED=all.")
    reco_catchup_timeout_s: float = _setting(
        120.0, "Longest a starting worker reads the inputs into its recommender before scoring; the rest follows while it scores."
    )
    clv_horizon_days: int = _setting(365, "Horizon of the published customer lifetime value (expected purchases and spend), days.")
    clv_sample_size: int = _setting(50_000, "Customers in the bounded sample the CLV population parameters are fitted on.")
    clv_refit_interval_s: float = _setting(86_400.0, "The CLV parameters are refitted once per this much event time.")
    sweep_interval_s: float = _setting(
        600.0, "How often users idle beyond the 90-day TTL (in event time) are deleted from state."
    )
    align_max_idle_ms: int = _setting(
        500, "Longest wait for an input topic that is behind but has nothing buffered, before a partition's other inputs go on in event-time order."
    )
    batch_max: int = _setting(
        500, "Most events applied as one batch (what one event-time release lets go): state folded in, then outputs published with one clock read."
    )
    max_future_s: float = _setting(
        3600.0, "An event dated more than this many seconds after its Kafka record's timestamp is dead-lettered (`future_timestamp`)."
    )
    session_timeout_s: float = _setting(
        10.0, "Kafka consumer session timeout. The embedded broker forms a group in about half of it."
    )
    fetch_max_wait_ms: int = _setting(
        100, "Longest time a broker may hold the worker's fetch when no data is there (Faust fixes 1,500)."
    )
    heartbeat_interval_s: float = _setting(1.0, "Kafka consumer heartbeat interval.")
    commit_interval_s: float = _setting(
        1.0, "How often offsets are committed; changed user state reaches the changelog at most this often."
    )
    log_level: str = _setting("info", "Worker log level.")
    security_protocol: str = _setting(
        "PLAINTEXT", "Kafka security protocol: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`."
    )
    sasl_mechanism: str = _setting("PLAIN", "SASL mechanism: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.")
    sasl_username: str = _setting("", "SASL user name.")
    sasl_password: str = _setting("", "SASL password.")
    ssl_cafile: str = _setting("", "CA certificate (PEM) that signed the brokers' certificates; empty: the system's.")
    ssl_certfile: str = _setting("", "Client certificate (PEM) for mutual TLS; empty: none.")
    ssl_keyfile: str = _setting("", "Private key (PEM) of the client certificate.")
    api_token: str = _setting(
        "", "Bearer token required by GET /users/{id} (and its /recommendations and /offer), /models, /segments and /offers. Empty: no token required (keep the port private)."
    )

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise SettingsError("SCORER_PARTITIONS must be at least 1")
        if self.store not in ("rocksdb", "memory"):
            raise SettingsError("SCORER_STORE must be `rocksdb` or `memory`")
        if not 0 < self.web_port < 65536:
            raise SettingsError("SCORER_WEB_PORT must be a TCP port")
        if self.conversion_window_s <= 0:
            raise SettingsError("SCORER_CONVERSION_WINDOW_S must be positive")
        try:
            components = set(self.reco_blend)
        except ValueError:
            raise SettingsError("SCORER_RECO_WEIGHTS must look like repeat=2,cooccurrence=1,knn=1,popularity=0.1") from None
        if components - set(RECO_COMPONENTS):
            raise SettingsError(f"SCORER_RECO_WEIGHTS names unknown components; known: {', '.join(RECO_COMPONENTS)}")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise SettingsError(f"SCORER_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}")
        if self.sasl_mechanism not in SASL_MECHANISMS:
            raise SettingsError(f"SCORER_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
        if self.training not in ("local", "shared"):
            raise SettingsError("SCORER_TRAINING must be `local` or `shared`")
        if self.clv_horizon_days < 1 or self.clv_sample_size < 1 or self.clv_refit_interval_s <= 0:
            raise SettingsError("SCORER_CLV_HORIZON_DAYS and SCORER_CLV_SAMPLE_SIZE must be at least 1, SCORER_CLV_REFIT_INTERVAL_S positive")
        if self.checkpoint_interval_s <= 0:
            raise SettingsError("SCORER_CHECKPOINT_INTERVAL_S must be positive")
        if self.segment_clusters < 1 or self.segment_min_dwell_days < 0:
            raise SettingsError("SCORER_SEGMENT_CLUSTERS must be at least 1, SCORER_SEGMENT_MIN_DWELL_DAYS not negative")
        if self.reco_feed not in ("all", "owned"):
            raise SettingsError("SCORER_RECO_FEED must be `all` or `owned`")
        if self.reco_sessions < 1 or self.reco_snapshot_interval_s <= 0:
            raise SettingsError("SCORER_RECO_SESSIONS must be at least 1, SCORER_RECO_SNAPSHOT_INTERVAL_S positive")
        unknown = set(self.reco_trigger_types) - {*CLICK_TYPES, "purchase"}
        if unknown:
            raise SettingsError(f"SCORER_RECO_TRIGGERS has unknown event types: {', '.join(sorted(unknown))}")
        if not 0.0 < self.offers_floor <= 1.0 or self.offers_min_interval_s < 0:
            raise SettingsError("SCORER_OFFERS_FLOOR must be in (0, 1], SCORER_OFFERS_MIN_INTERVAL_S not negative")
        if self.offers_policy not in ("linucb", "epsilon", "thompson"):
            raise SettingsError("SCORER_OFFERS_POLICY must be `linucb`, `epsilon` or `thompson`")
        if set(self.offers_trigger_types) - set(CLICK_TYPES):
            raise SettingsError("SCORER_OFFERS_TRIGGERS names unknown click types")

    @property
    def offers_trigger_types(self) -> frozenset[str]:
        """``offers_triggers`` as a set of click types."""
        return frozenset(part.strip() for part in self.offers_triggers.split(",") if part.strip())

    @property
    def reco_blend(self) -> dict[str, float]:
        """``reco_weights`` as ``{component: weight}``.

        >>> Settings(reco_weights="knn=0.5, popularity=0").reco_blend
        {'knn': 0.5, 'popularity': 0.0}
        """
        blend = {}
        for part in self.reco_weights.split(","):
            name, _, value = part.partition("=")
            blend[name.strip()] = float(value)
        return blend

    @property
    def reco_trigger_types(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.reco_triggers.split(",") if t.strip())

    @property
    def canonical_url(self) -> str:
        """Where other workers forward requests for users this worker owns."""
        host = self.advertised_host or self.web_host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        return f"http://{host}:{self.web_port}"

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    @property
    def uses_ssl(self) -> bool:
        return self.security_protocol.endswith("SSL")

    def kafka_config(self) -> dict[str, str]:
        """Connection settings for librdkafka clients (producers, consumers, admin).

        >>> Settings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password="p").kafka_config()["sasl.mechanism"]
        'PLAIN'
        """
        config = {"bootstrap.servers": self.broker, "security.protocol": self.security_protocol}
        if self.uses_sasl:
            config.update(
                {"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.sasl_username, "sasl.password": self.sasl_password}
            )
        if self.uses_ssl:
            for option, path in (
                ("ssl.ca.location", self.ssl_cafile),
                ("ssl.certificate.location", self.ssl_certfile),
                ("ssl.key.location", self.ssl_keyfile),
            ):
                if path:
                    config[option] = path
        return config

    @staticmethod
    def env_name(name: str) -> str:
        return ENV_PREFIX + name.upper()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``SCORER_*`` variables, then ``overrides`` that are not None."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(cls.env_name(f.name))
            if raw is not None:
                values[f.name] = _convert(f.name, type(f.default), raw)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def isolated(self, suffix: str) -> Settings:
        """A copy whose app id and every topic name end in ``-suffix``: a fresh group and fresh topics.

        >>> Settings().isolated("t1").topic_dlq
        'scorer.dlq-t1'
        """
        names = {f.name: f"{getattr(self, f.name)}-{suffix}" for f in dataclasses.fields(self) if f.name.startswith("topic_")}
        return self.replace(app_id=f"{self.app_id}-{suffix}", **names)

    @property
    def input_topics(self) -> tuple[str, str, str]:
        """Every topic the worker consumes, all keyed by user and co-partitioned."""
        return (self.topic_clickstream, self.topic_purchases, self.topic_consent)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(name: str, kind: type, raw: str) -> Any:
    if kind is bool:
        if raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise SettingsError(f"{Settings.env_name(name)}={raw!r} is not a boolean (true/false)")
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(
            f"{Settings.env_name(name)}={raw!r} is not a valid {kind.__name__}"
        ) from None


def settings_table() -> str:
    """The settings as a Markdown table, for the README."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for f in dataclasses.fields(Settings):
        rows.append(f"| `{Settings.env_name(f.name)}` | `{f.default}` | {f.metadata['doc']} |")
    return "\n".join(rows)
