"""scorer: real-time purchase propensity and recommendations from clickstream on Kafka.

A reading guide. Each concept of the product has a room (a sub-package), each room a face
(its ``__init__``, whose ``__all__`` is what other rooms may use), and imports run one way,
bottom to top; ``tests/unit/test_layering.py`` enforces it.

The pure core (no Kafka, Faust, Prometheus, environment or wall clock; time comes with
each event):

``events``
    The contract in and out: typed events, the decoder, the published payloads, the
    session definition, Kafka's key partitioning, the JSON Schemas.
``datasets``, ``features``
    Recorded and synthetic input; per-user feature state in event time.
``propensity``, ``recommend``
    The model rooms, siblings that never import each other: purchase propensity
    (River classifiers, delayed labels, drift, live quality) and next-item
    recommendations (co-occurrence, session-kNN, popularity, their blend).
``scoring``
    The per-event core: the user record, the pipeline, the engine over a partitioned
    store, the offline prequential evaluation, sealed model snapshots.

The edge:

``settings``
    The one frozen :class:`~scorer.settings.Settings`, from ``SCORER_*`` variables,
    read once at the entry point.
``kafka``
    Publishing (librdkafka), private consumers, topics, security settings.
``worker``
    The production process: the Faust app, the per-message processor, the record
    cache, checkpoints, shared training, HTTP views and Prometheus metrics.
``tools``, ``bench``, ``cli``
    The embedded broker, demo, send, tail, evaluate and plots; the benchmark; the
    ``scorer`` command (``python -m scorer``).

Layer order: events -> datasets, features -> propensity, recommend -> scoring ->
settings, kafka -> worker -> tools -> bench -> cli.
"""

__version__ = "0.1.0"
