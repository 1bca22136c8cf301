"""Kafka authentication for Faust (aiokafka), from the same settings the librdkafka clients use.

librdkafka clients take :meth:`Settings.kafka_config`; Faust wants credential
objects and an ``ssl.SSLContext`` instead. Both are built from the one
settings object so the two client stacks cannot disagree.
"""

from __future__ import annotations

import ssl
import time

import faust
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient

from scorer.kafka.logs import client_logging
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


_REFUSALS = {
    KafkaError._AUTHENTICATION: "SCORER_SASL_USERNAME, SCORER_SASL_PASSWORD and SCORER_SASL_MECHANISM",
    KafkaError._SSL: "SCORER_SSL_CAFILE, SCORER_SSL_CERTFILE and SCORER_SSL_KEYFILE",
}


def login_refusal(settings: Settings, timeout_s: float = 5.0) -> str | None:
    """Why the broker turns this client away, if it is the login (SASL) or the TLS handshake.

    librdkafka reports a refused login only to an error callback and then fails every request
    with a transport error, so a caller that waited for metadata in vain asks here before
    saying that no broker answered. None: no refusal seen within ``timeout_s``.
    """
    errors: list[KafkaError] = []
    admin = AdminClient({**settings.kafka_config(), **client_logging(), "error_cb": errors.append})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        admin.poll(0.1)
        for error in errors:
            if error.code() in _REFUSALS:
                who = f" as {settings.sasl_username!r} ({settings.sasl_mechanism})" if error.code() == KafkaError._AUTHENTICATION else ""
                return (
                    f"the broker at {settings.broker} refused the connection{who}: {error.str()} "
                    f"(check {_REFUSALS[error.code()]})"
                )
    return None
