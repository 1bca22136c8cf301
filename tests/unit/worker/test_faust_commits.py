"""The commit Faust picks for a partition whose first delivered message is still unacked."""

from collections import defaultdict
from types import SimpleNamespace

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from scorer.worker import faust_patches

TOPIC = TP("clickstream", 3)


def consumer(committed: int, acked: list[int], unacked: list[int]) -> SimpleNamespace:
    """The attributes of a Faust Consumer that commit selection reads, for one partition."""
    fake = SimpleNamespace(
        _acked=defaultdict(list, {TOPIC: list(acked)}),
        _acked_index=defaultdict(set, {TOPIC: set(acked)}),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None, {TOPIC: committed}),
        _unacked_messages=[SimpleNamespace(tp=TOPIC, offset=o, acked=False) for o in unacked],
    )
    fake._new_offset = lambda tp: Consumer._new_offset(fake, tp)
    fake._should_commit = lambda tp, offset: Consumer._should_commit(fake, tp, offset)
    return fake


def test_faust_alone_commits_past_the_message_at_the_committed_offset():
    # Offset 40 is next to read and still in the aligner; 41 and 42 were answered at once.
    fake = consumer(committed=40, acked=[41, 42], unacked=[40])
    assert faust_patches._original_filter(fake, [TOPIC]) == {TOPIC: 43}


def test_the_patched_commit_waits_for_that_message_then_covers_it():
    faust_patches.commit_below_unacked()
    try:
        fake = consumer(committed=40, acked=[41, 42], unacked=[40])
        assert Consumer._filter_committable_offsets(fake, [TOPIC]) == {}
        # Acked now: the run starts at the committed offset and the commit covers all three.
        fake._unacked_messages.clear()
        fake._acked[TOPIC].insert(0, 40)
        fake._acked_index[TOPIC].add(40)
        assert Consumer._filter_committable_offsets(fake, [TOPIC]) == {TOPIC: 43}
        # An unacked message after the acked run only bounds the run, as before.
        fake = consumer(committed=40, acked=[40, 41, 43], unacked=[42])
        assert Consumer._filter_committable_offsets(fake, [TOPIC]) == {TOPIC: 42}
        # An offset no message was delivered for (a transaction marker at 40) holds nothing back.
        fake = consumer(committed=40, acked=[41, 42], unacked=[])
        assert Consumer._filter_committable_offsets(fake, [TOPIC]) == {TOPIC: 43}
    finally:
        Consumer._filter_committable_offsets = faust_patches._original_filter
