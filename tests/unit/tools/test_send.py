"""Sending events: an interrupt says how many were sent and how many the broker acknowledged."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from scorer.cli import INTERRUPTED, one_line_failures
from scorer.settings import Settings
from scorer.tools.send import SendInterrupted, send_events
from tests.fakes import MemoryPublisher


def _interrupted_after(n: int):
    for i in range(n):
        yield "click", {"event_id": f"e{i}", "user_id": f"u{i % 3}", "ts": 1_000 + i, "type": "page_view"}
    raise KeyboardInterrupt


def test_an_interrupt_flushes_and_reports_both_counts() -> None:
    publisher = MemoryPublisher()
    with pytest.raises(SendInterrupted) as caught:
        send_events(publisher, Settings(), _interrupted_after(250))
    assert caught.value.sent == 250 and caught.value.flushed == 250 and publisher.flushes == 1
    assert str(caught.value) == "interrupted: 250 events sent, 250 of them flushed to the broker"
    assert [r.key for r in publisher.records[:3]] == [b"u0", b"u1", b"u2"]


def test_the_cli_prints_the_counts_and_exits_130() -> None:
    @click.command()
    @one_line_failures
    def sending() -> None:
        send_events(MemoryPublisher(), Settings(), _interrupted_after(7))

    result = CliRunner().invoke(sending, [])
    assert result.exit_code == INTERRUPTED
    assert result.stderr.strip() == "interrupted: 7 events sent, 7 of them flushed to the broker"
