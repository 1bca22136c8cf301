"""How well segments separate future purchases, and how often users move between them.

Given every segment update of a replay (who, when, which RFM segment, which
cluster) and every purchase, this module asks what a marketer would: at each
cutoff after warm-up, take each user's last assignment before it; did they buy in
the next ``horizon_days`` (or up to the end of the data)? A user counts at a cutoff
while the scorer still holds them: their last update is within the state TTL.

``spread`` is the best segment's purchase rate over the worst's, among segments
holding at least ``min_share`` of the observations (a rate of 0 counts as half a
purchase, so the ratio stays finite). ``daily_churn`` is the share of active
users (updated within ``active_days``) whose segment changes on a given day,
pooled over the warm days: changes over active user-days. A user with no cluster
yet (``None``: the clusters were warming up) is in no cluster's row, and getting a
first cluster is not a change.

>>> day = 86_400_000
>>> history = [("a", 0, "loyal", 0), ("b", 0, "new", 1), ("a", 5 * day, "loyal", 0), ("b", 6 * day, "new", 1)]
>>> purchases = {"a": [2 * day, 4 * day, 9 * day], "b": []}
>>> report = segment_report(history, purchases, 0, 10 * day, warm_fraction=0.1)
>>> [(row["segment"], round(row["purchase_rate_7d"], 2)) for row in report["rfm"]["segments"]]
[('loyal', 0.88), ('new', 0.0)]
>>> report["rfm"]["daily_churn"]
0.0
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from typing import Any

__all__ = ["segment_report"]

_DAY_MS = 86_400_000


def segment_report(
    history: list[tuple[str, int, str, int | None]],
    purchases: dict[str, list[int]],
    first_ts: int,
    last_ts: int,
    horizon_days: float = 7.0,
    ttl_days: float = 90.0,
    active_days: float = 30.0,
    warm_fraction: float = 0.25,
    min_share: float = 0.02,
) -> dict[str, Any]:
    """Per segment users, share and forward purchase rate, the spread and the daily churn, for both segmentations."""
    timelines: dict[str, list[tuple[int, str, int | None]]] = defaultdict(list)
    for user, ts, rfm, cluster in history:
        timelines[user].append((ts, rfm, cluster))
    for timeline in timelines.values():
        timeline.sort(key=lambda update: update[0])
    bought = {user: sorted(times) for user, times in purchases.items()}
    warm = first_ts + int((last_ts - first_ts) * warm_fraction)
    # Daily cutoffs on short data; weekly on long logs, where a day adds little but time.
    step = _DAY_MS if last_ts - first_ts <= 60 * _DAY_MS else 7 * _DAY_MS
    first_cutoff = (warm // _DAY_MS + 1) * _DAY_MS
    cutoffs = list(range(first_cutoff, last_ts, step))
    horizon, ttl = int(horizon_days * _DAY_MS), int(ttl_days * _DAY_MS)
    report: dict[str, Any] = {
        "cutoffs": len(cutoffs),
        "cutoff_step_days": step / _DAY_MS,
        "horizon_days": horizon_days,
        "warm_from": warm,
    }
    for index, key in ((1, "rfm"), (2, "clusters")):
        observations: Counter[str] = Counter()
        buyers: Counter[str] = Counter()
        for user, timeline in timelines.items():
            times = [update[0] for update in timeline]
            user_buys = bought.get(user, [])
            for cutoff in cutoffs:
                last = bisect.bisect_left(times, cutoff) - 1
                if last < 0 or cutoff - times[last] > ttl:
                    continue
                if timeline[last][index] is None:
                    continue
                segment = str(timeline[last][index])
                observations[segment] += 1
                after = bisect.bisect_right(user_buys, cutoff)
                if after < len(user_buys) and user_buys[after] <= min(cutoff + horizon, last_ts):
                    buyers[segment] += 1
        report[key] = _table(observations, buyers, len(cutoffs), min_share)
        report[key]["daily_churn"] = _daily_churn(timelines, index, warm, last_ts, int(active_days * _DAY_MS))
    return report


def _table(observations: Counter[str], buyers: Counter[str], cutoffs: int, min_share: float) -> dict[str, Any]:
    total = sum(observations.values())
    rows = []
    for segment, n in sorted(observations.items(), key=lambda kv: -buyers[kv[0]] / kv[1]):
        rows.append(
            {
                "segment": segment,
                "users": n / cutoffs,
                "share": n / total,
                "purchase_rate_7d": buyers[segment] / n,
            }
        )
    counted = [row for row, n in ((row, observations[row["segment"]]) for row in rows) if row["share"] >= min_share]
    spread = None
    if len(counted) >= 2:
        rates = [max(buyers[row["segment"]], 0.5) / observations[row["segment"]] for row in counted]
        spread = max(rates) / min(rates)
    return {"segments": rows, "spread": spread, "observations": total}


def _daily_churn(
    timelines: dict[str, list[tuple[int, str, int | None]]], index: int, warm: int, last_ts: int, active_ms: int
) -> float | None:
    """Segment changes on warm days over the active users of those days."""
    first_day, last_day = warm // _DAY_MS + 1, last_ts // _DAY_MS
    if last_day < first_day:
        return None
    days = last_day - first_day + 1
    active = [0] * (days + 1)
    changes = 0
    window = active_ms // _DAY_MS
    for timeline in timelines.values():
        covered_until = first_day - 1
        previous = None
        for ts, *segments in timeline:
            day = ts // _DAY_MS
            segment = segments[index - 1]
            if previous is not None and segment != previous and first_day <= day <= last_day:
                changes += 1
            previous = segment
            # The user is active from this day through ``window`` days after it.
            start, end = max(day, covered_until + 1, first_day), min(day + window - 1, last_day)
            if start <= end:
                active[start - first_day] += 1
                active[end - first_day + 1] -= 1
                covered_until = end
    running = user_days = 0
    for delta in active[:days]:
        running += delta
        user_days += running
    return changes / user_days if user_days else None
