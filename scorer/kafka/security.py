"""Kafka authentication for Faust (aiokafka), from the same settings the librdkafka clients use.

librdkafka clients take :meth:`Settings.kafka_config`; Faust wants credential
objects and an ``ssl.SSLContext`` instead. Both are built from the one
settings object so the two client stacks cannot disagree.
"""

from __future__ import annotations

import ssl

import faust

from scorer.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ssl_cafile or None)
    if settings.ssl_certfile:
        context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile or None)
    return context


def faust_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Credentials for ``faust.App(broker_credentials=...)``; None for PLAINTEXT."""
    context = ssl_context(settings) if settings.uses_ssl else None
    if settings.uses_sasl:
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
