"""The streaming edge: settings, the Faust app, topics, agents, publishing and the CLI.

This is the only layer that knows Faust, Kafka, Prometheus or environment
variables; it calls the pure code in ``events``, ``features`` and
``online_models``.
"""
