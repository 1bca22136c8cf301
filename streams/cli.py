"""The ``scorer`` command line."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from streams.settings import Settings, SettingsError

broker_option = click.option("--broker", metavar="HOST:PORT", help="Kafka bootstrap servers [env SCORER_BROKER].")
partitions_option = click.option(
    "--partitions", type=int, help="Partitions of every user-keyed topic [env SCORER_PARTITIONS]."
)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Real-time purchase propensity and recommendations from clickstream on Kafka."""


@cli.command()
@click.option("--port", type=int, default=9092, show_default=True, help="Port on 127.0.0.1 to listen on.")
def broker(port: int) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, memory only) until Ctrl-C."""
    from streams.broker import BrokerError, EmbeddedBroker

    embedded = EmbeddedBroker(port)
    try:
        embedded.start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"embedded broker on {embedded.bootstrap} (memory only: topics vanish when it stops)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        code = embedded.wait()
        raise click.ClickException(f"the broker exited with status {code}")
    except KeyboardInterrupt:
        pass
    finally:
        embedded.stop()


@cli.command()
@broker_option
@partitions_option
@click.option("--web-port", type=int, help="HTTP port for /health [env SCORER_WEB_PORT].")
@click.option("--data-dir", help="Local state directory [env SCORER_DATA_DIR].")
@click.option("--store", type=click.Choice(["rocksdb", "memory"]), help="Table store [env SCORER_STORE].")
def worker(**overrides: Any) -> None:
    """Run a scoring worker: consume events, update state, learn and publish scores."""
    from streams.app import run_worker
    from streams.topics import BrokerUnavailable

    settings = load_settings(**overrides)
    try:
        run_worker(settings)
    except BrokerUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def topics() -> None:
    """Create or list the scorer's topics."""


@topics.command("create")
@broker_option
@partitions_option
def topics_create(**overrides: Any) -> None:
    """Create every topic the scorer uses, if missing."""
    from streams.topics import BrokerUnavailable, create_topics

    settings = load_settings(**overrides)
    try:
        outcome = create_topics(settings)
    except (BrokerUnavailable, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    for name, state in outcome.items():
        click.echo(f"{name}: {state}")


@topics.command("list")
@broker_option
def topics_list(**overrides: Any) -> None:
    """List the scorer's topics with their partition counts."""
    from streams.topics import BrokerUnavailable, describe_topics

    settings = load_settings(**overrides)
    try:
        found = describe_topics(settings)
    except BrokerUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    for name, partitions in found.items():
        click.echo(f"{name}: {partitions if partitions is not None else 'missing'}")


@cli.command()
@click.option("--port", type=int, default=0, help="Broker port; 0 picks a free one.")
@click.option("--duration", type=float, help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--rate", type=float, default=200.0, show_default=True, help="Generated events per second.")
@click.option("--users", type=int, default=500, show_default=True, help="Simulated users.")
@click.option("--seed", type=int, default=42, show_default=True)
def demo(port: int, duration: float | None, rate: float, users: int, seed: int) -> None:
    """Run broker, worker and synthetic traffic, and show live scores."""
    from streams.demo import run_demo

    run_demo(load_settings(), port=port, duration=duration, rate=rate, users=users, seed=seed)


def main() -> None:
    cli(prog_name="scorer")
