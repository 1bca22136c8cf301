"""Behavioural clusters keep their ids while the groups they follow drift."""

import random
from collections import Counter

from scorer.segments import Clusters


def drifting_mix(steps: int, seed: int = 3):
    """Three groups of users whose behaviour drifts over time: ``(group, features)``."""
    rng = random.Random(seed)
    for step in range(steps):
        drift = step / steps  # from 0 to 1 over the stream
        group = rng.choice((0, 1, 2))
        base = ((1.0, 2.0), (40.0, 5.0), (8.0, 300.0))[group]
        # Group 0 triples its orders, group 1 halves them, group 2 spends ever more.
        scale = ((1 + 2 * drift, 1.0), (1 - 0.5 * drift, 1.0), (1.0, 1 + drift))[group]
        yield group, {
            "orders": base[0] * scale[0] * rng.uniform(0.9, 1.1),
            "spend": base[1] * scale[1] * rng.uniform(0.9, 1.1),
        }


def test_cluster_ids_stay_with_their_group_as_it_drifts():
    clusters = Clusters(n_clusters=3, warmup=60, seed=7)
    early: dict[int, Counter] = {0: Counter(), 1: Counter(), 2: Counter()}
    late: dict[int, Counter] = {0: Counter(), 1: Counter(), 2: Counter()}
    steps = 6000
    for step, (group, x) in enumerate(drifting_mix(steps)):
        cluster_id = clusters.learn(x, None)
        if 500 <= step < 1500:
            early[group][cluster_id] += 1
        elif step >= steps - 1000:
            late[group][cluster_id] += 1
    first = {group: counts.most_common(1)[0][0] for group, counts in early.items()}
    last = {group: counts.most_common(1)[0][0] for group, counts in late.items()}
    assert len(set(first.values())) == 3, "each group has its own cluster"
    assert first == last, "a cluster keeps its id as its centre moves"
    for group, counts in late.items():
        assert counts[last[group]] / sum(counts.values()) > 0.95


def test_the_number_of_clusters_is_bounded_and_centres_move():
    clusters = Clusters(n_clusters=4, warmup=60, seed=7)
    seen = set()
    stream = list(drifting_mix(3000))
    warming = [clusters.learn(x, None) for _, x in stream[:59]]
    assert warming == [None] * 59 and clusters.assign(stream[0][1], None) is None, "no cluster before the warm-up ends"
    for _, x in stream[59:1000]:
        seen.add(clusters.learn(x, None))
    before = [list(centre) for centre in clusters.centres]
    for _, x in stream[1000:]:
        seen.add(clusters.learn(x, None))
    assert seen <= {0, 1, 2, 3} and len(clusters.centres) == 4
    assert before != clusters.centres


def test_a_user_between_two_centres_keeps_their_cluster():
    clusters = Clusters(n_clusters=3, warmup=60, seed=7)
    for _, x in drifting_mix(2000):
        clusters.learn(x, None)
    low, high = clusters.assign({"orders": 1.0, "spend": 2.0}, None), clusters.assign({"orders": 40.0, "spend": 5.0}, None)
    assert low != high
    middle = {"orders": 6.3, "spend": 3.2}  # about halfway on the log scale
    assert clusters.assign(middle, low) == low and clusters.assign(middle, high) == high
