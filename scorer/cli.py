"""The ``scorer`` command line.

Every failure a user can fix (no broker, a busy port, a locked directory, a partition
count, a broken file) ends the command with one line and a non-zero status; tracebacks
are for bugs. Commands that start processes stop them on Ctrl-C, SIGTERM and SIGHUP.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from pathlib import Path

import click
import orjson

from scorer.datasets import FORMATS

from scorer.settings import Settings, SettingsError

broker_option = click.option("--broker", metavar="HOST:PORT", help="Kafka bootstrap servers [env SCORER_BROKER].")
partitions_option = click.option(
    "--partitions", type=int, help="Partitions of every user-keyed topic [env SCORER_PARTITIONS]."
)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


#: Exit status of a command stopped by Ctrl-C, SIGTERM or SIGHUP (the shell's 128 + SIGINT).
INTERRUPTED = 130


def one_line_failures(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the failures a user can fix into ``Error: <one line>`` and status 1; stop children on signals."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from confluent_kafka import KafkaException

        from scorer.datasets import DatasetError
        from scorer.kafka import BrokerUnavailable, PartitionMismatch, PublishError
        from scorer.tools import stop_on_signals
        from scorer.worker import StartupError

        fixable = (BrokerUnavailable, PartitionMismatch, PublishError, StartupError, DatasetError, KafkaException)
        try:
            with stop_on_signals():
                return command(*args, **kwargs)
        except fixable as exc:
            raise click.ClickException(_first_line(exc)) from None
        except KeyboardInterrupt as exc:
            message = str(exc) if type(exc) is not KeyboardInterrupt else ""
            click.echo(message or "interrupted", err=True)
            sys.exit(INTERRUPTED)
        except (RuntimeError, TimeoutError) as exc:
            # The embedded broker or a supervised worker that would not start.
            from scorer.tools import BrokerError, WorkerStartError

            if isinstance(exc, (BrokerError, WorkerStartError, TimeoutError)):
                raise click.ClickException(_first_line(exc)) from None
            raise

    return run


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="Also show librdkafka's own log lines.")
def cli(verbose: bool) -> None:
    """Real-time purchase propensity and recommendations from clickstream on Kafka."""
    if verbose:
        from scorer.kafka import show_librdkafka_log

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s librdkafka %(message)s"))
        show_librdkafka_log(handler=handler)


@cli.command()
@click.option("--port", type=int, default=9092, show_default=True, help="Port on 127.0.0.1 to listen on.")
@one_line_failures
def broker(port: int) -> None:
    """Run the embedded Kafka-protocol broker (Tansu, memory only) until Ctrl-C."""
    from scorer.tools import EmbeddedBroker

    embedded = EmbeddedBroker(port)
    embedded.start()
    click.echo(f"embedded broker on {embedded.bootstrap} (memory only: topics vanish when it stops)")
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
    from confluent_kafka import KafkaException

    from scorer.kafka import BrokerUnavailable, PartitionMismatch, RateLimit, limit_log_rates, show_librdkafka_log
    from scorer.worker import run_worker
    from scorer.worker import StartupError

    settings = load_settings(**overrides)
    # A worker outlives broker outages: each kind of retry line reaches its log a few times a minute,
    # then once more with the count of those dropped.
    limit = RateLimit()
    show_librdkafka_log(limit=limit)
    limit_log_rates(limit)
    # Faust stops gracefully (state flushed, model saved) on SIGTERM; a closed terminal's SIGHUP
    # would kill it outright, so it is turned into a SIGTERM.
    signal.signal(signal.SIGHUP, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    try:
        run_worker(settings)
    except (BrokerUnavailable, PartitionMismatch, StartupError, KafkaException) as exc:
        raise click.ClickException(_first_line(exc)) from None


@cli.group()
def topics() -> None:
    """Create or list the scorer's topics."""


@topics.command("create")
@broker_option
@partitions_option
@one_line_failures
def topics_create(**overrides: Any) -> None:
    """Create every topic the scorer uses, if missing."""
    from scorer.kafka import create_topics

    outcome = create_topics(load_settings(**overrides))
    for name, state in outcome.items():
        click.echo(f"{name}: {state}")


@topics.command("list")
@broker_option
@one_line_failures
def topics_list(**overrides: Any) -> None:
    """List the scorer's topics with their partition counts."""
    from scorer.kafka import describe_topics

    found = describe_topics(load_settings(**overrides))
    for name, partitions in found.items():
        click.echo(f"{name}: {partitions if partitions is not None else 'missing'}")


@cli.command()
@click.option("--port", type=int, default=0, help="Broker port; 0 picks a free one.")
@click.option("--duration", type=float, help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--rate", type=float, default=200.0, show_default=True, help="Generated events per second.")
@click.option("--users", type=int, default=500, show_default=True, help="Simulated users.")
@click.option("--seed", type=int, default=42, show_default=True)
@one_line_failures
def demo(port: int, duration: float | None, rate: float, users: int, seed: int) -> None:
    """Run broker, worker and synthetic traffic, and show live scores."""
    from scorer.tools import run_demo

    run_demo(load_settings(), port=port, duration=duration, rate=rate, users=users, seed=seed)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Input format (default: detected per file).")
@click.option("--model", help="Propensity model [env SCORER_MODEL].")
@click.option("--window-s", "conversion_window_s", type=float, help="Conversion window, seconds [env SCORER_CONVERSION_WINDOW_S].")
@partitions_option
@click.option("--eval-after", metavar="TIME", help="Count metrics only for events at or after TIME (epoch ms or RFC 3339).")
@click.option("--eval-from-file", type=int, metavar="N", help="Count metrics only from the N-th file on (1-based).")
@click.option("--closed-windows-only", is_flag=True, help="Leave out clicks whose window runs past the end of the data.")
@click.option("--plots", type=click.Path(file_okay=False, path_type=Path), help="Write PNG charts into this directory.")
@click.option("--max-rejected", type=click.FloatRange(0.0, 1.0), default=0.10, show_default=True,
              help="Fail when the decoder rejects more than this share of the input.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--clv", is_flag=True, help="Also evaluate customer lifetime value: calibration, then holdout, per customer.")
@click.option("--clv-calibration-end", metavar="DAY", help="Last day of the CLV calibration period (default: the data's first 39 weeks); implies --clv.")
@click.option("--clv-sample-size", type=int, help="Customers in the CLV fit sample [env SCORER_CLV_SAMPLE_SIZE].")
@click.option("--offers", is_flag=True, help="Evaluate next-best offer instead: a simulated file (with its .offers.json) or an obd log.")
@click.option("--offers-decisions", type=int, default=50_000, show_default=True, help="Decisions to simulate with --offers.")
@click.option("--offers-policy", help="Offer bandit [env SCORER_OFFERS_POLICY].")
def evaluate(
    files: tuple[Path, ...],
    fmt: str | None,
    eval_after: str | None,
    eval_from_file: int | None,
    closed_windows_only: bool,
    plots: Path | None,
    max_rejected: float,
    as_json: bool,
    clv: bool,
    clv_calibration_end: str | None,
    offers: bool,
    offers_decisions: int,
    **overrides: Any,
) -> None:
    """Replay FILES offline through the worker's code and report model quality."""
    from scorer.datasets import DatasetError
    from scorer.tools import evaluate_files

    settings = load_settings(**overrides)
    if offers:
        _evaluate_offers(settings, list(files), plots, offers_decisions, as_json)
        return
    try:
        result = evaluate_files(
            settings, list(files), fmt, eval_after, eval_from_file, plots, closed_windows_only, progress=not as_json,
            max_rejected_share=max_rejected,
            clv=clv, clv_calibration_end=clv_calibration_end,
        )
    except (DatasetError, ValueError) as exc:
        raise click.ClickException(_first_line(exc)) from None
    segmented = result.get("segments", {}).get("cutoffs", 0) > 0
    if not result["propensity"].get("examples") and "clv" not in result and not segmented:
        # Metrics of nothing are NaN, and charts of nothing would be empty frames titled "AUC nan".
        # (A purchases-only log still makes a CLV evaluation, and a segment one once it spans a cutoff.)
        raise click.ClickException(
            f"nothing to evaluate: no click was scored and labelled ({result['events']:,} events read, "
            f"{result['rejected']:,} rejected); no report or chart written"
        )
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode())
    else:
        _print_report(result)


def _evaluate_offers(settings: Settings, files: list[Path], plots: Path | None, decisions: int, as_json: bool) -> None:
    from scorer.datasets import DatasetError
    from scorer.tools import evaluate_offers, print_offers

    try:
        result = evaluate_offers(settings, files, plots, decisions)
    except (DatasetError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    print_offers(result)
    for path in result.get("simulation", {}).get("plots", []):
        click.echo(f"wrote {path}")


def _print_report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"offline evaluation: {result['events']:,} events at {result['events_per_second']:,.0f}/s")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for section in ("propensity", "propensity.closed", "recommendations"):
        found: Any = result
        for part in section.split("."):
            found = found.get(part, {})
        for name, value in found.items():
            if isinstance(value, dict):
                continue
            shown = f"[{value[0]:.4f}, {value[1]:.4f}]" if isinstance(value, list) else f"{value:.4f}" if isinstance(value, float) else str(value)
            table.add_row(f"{section}.{name}", shown)
    table.add_row("rejected", ", ".join(f"{r} {n}" for r, n in result.get("rejected_by_reason", {}).items()) or "0")
    Console().print(table)
    if "clv" in result:
        from scorer.tools import print_clv

        print_clv(result["clv"])
    if "segments" in result:
        from scorer.tools import print_segments

        print_segments(result["segments"])
    for path in result.get("plots", []):
        click.echo(f"wrote {path}")


def _progress_sender(settings: Settings, events: Any, total: int | None, label: str, **pace: Any) -> int:
    from rich.progress import Progress

    from scorer.kafka import Publisher, create_topics
    from scorer.tools import send_events

    # Only missing topics are created; existing ones may have any partition count, since
    # the producer spreads keys with Kafka's partitioner over whatever partitions there are.
    create_topics(settings, check_partitions=False)
    # A bounded local queue: a file larger than memory streams through at the broker's pace.
    publisher = Publisher(settings, **{"queue.buffering.max.kbytes": 65536})
    with Progress() as bar:
        task = bar.add_task(label, total=total)
        return send_events(publisher, settings, events, on_sent=lambda n: bar.update(task, completed=n), **pace)


@cli.command()
@broker_option
@partitions_option
@click.option("--users", type=int, default=1_000, show_default=True)
@click.option("--items", type=int, default=500, show_default=True)
@click.option("--events", type=int, default=100_000, show_default=True)
@click.option("--rate", type=float, help="Events per second (default: as fast as possible).")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write JSONL here instead of to Kafka.")
@click.option("--offers", is_flag=True, help="Also write the offer catalogue, its response model and the user types to FILE.offers.json (needs --out).")
@one_line_failures
def simulate(users: int, items: int, events: int, rate: float | None, seed: int, out: Path | None, offers: bool = False, **overrides: Any) -> None:
    """Generate synthetic marketing traffic with a known ground truth."""
    import itertools

    from rich.progress import track

    from scorer.datasets import TrafficGenerator

    generator = TrafficGenerator(users=users, items=items, seed=seed)
    if offers:
        if out is None:
            raise click.UsageError("--offers needs --out: the response model is written beside the events")
        from scorer.datasets import offer_truth
        from scorer.tools import offers_sidecar

        offers_sidecar(out).write_bytes(orjson.dumps(offer_truth(generator)))
    generated = itertools.islice(generator, events)
    if out is not None:
        with open(out, "wb") as handle:
            for _, event in track(generated, total=events, description=f"writing {out}"):
                handle.write(orjson.dumps(event) + b"\n")
        return
    settings = load_settings(**overrides)
    sent = _progress_sender(settings, generated, events, f"sending to {settings.broker}", rate=rate)
    click.echo(f"sent {sent:,} events")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Input format (default: detected; .gz is read as is).")
@click.option("--speed", type=float, help="Replay at N times real time (default: as fast as possible).")
@broker_option
@partitions_option
@one_line_failures
def replay(file: Path, fmt: str | None, speed: float | None, **overrides: Any) -> None:
    """Send a recorded dataset into the input topics in event-time order."""
    from scorer.datasets import read_events
    from scorer.kafka import require_broker

    settings = load_settings(**overrides)
    events = read_events([file], fmt)
    require_broker(settings)
    sent = _progress_sender(settings, events, len(events), f"replaying {file.name}", speed=speed)
    click.echo(f"sent {sent:,} events")


@cli.command(name="tail")
@broker_option
@click.option("--user", help="Show only this user.")
@click.option("--from-start", is_flag=True, help="Read the score topics from the beginning.")
@click.option("--duration", type=float, help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--json", "as_json", is_flag=True, help="Print each score and list as one JSON line instead of a table.")
@one_line_failures
def tail_command(user: str | None, from_start: bool, duration: float | None, as_json: bool, **overrides: Any) -> None:
    """Watch scores and recommendations arrive, live."""
    from scorer.tools import ScoreBoard, tail, tail_json

    settings = load_settings(**overrides)
    if as_json:
        tail_json(settings, user, duration, from_start=from_start)
        return
    board = tail(settings, ScoreBoard(user=user), duration, from_start=from_start)
    click.echo(f"received {board.received:,} scores and {board.lists_received:,} recommendation lists")


@cli.command()
@click.option("--events", type=int, default=200_000, show_default=True)
@click.option("--users", type=int, default=20_000, show_default=True)
@click.option("--items", type=int, default=10_000, show_default=True)
@click.option("--latency-seconds", type=float, default=20.0, show_default=True, help="Length of the latency run.")
@click.option("--workers", type=int, default=1, show_default=True, help="Also measure this many workers sharing the input.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--broker-kind", type=click.Choice(["embedded", "kafka"]), default="embedded", show_default=True,
    help="Broker the bench starts: the embedded one, or the pinned Apache Kafka (deploy/kafka/pom.xml; needs Java, Maven).",
)
@one_line_failures
def bench(events: int, users: int, items: int, latency_seconds: float, workers: int, as_json: bool, broker_kind: str) -> None:
    """Measure throughput (Faust ceiling, scorer, plain loop), latency, memory and state size."""
    from scorer.bench import run_bench

    report = (lambda line: None) if as_json else click.echo
    result = run_bench(load_settings(), events, users, items, latency_seconds, workers, report, broker_kind=broker_kind)
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(f"scorer/ceiling {result['ratio_scorer_to_ceiling']:.2f}, scorer/plain loop {result['ratio_scorer_to_plain_loop']:.2f}, "
                   f"state {result['state_bytes_per_user']:.0f} bytes/user")


def main() -> None:
    cli(prog_name="scorer")
