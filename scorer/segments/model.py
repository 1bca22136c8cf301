"""The segment model the engine keeps per user: RFM and behavioural clusters, published on change.

Cost per event is two comparisons for most events. A user is segmented on their
first event, then re-segmented only when they have bought since their last update
*and* are in a new session: on the first purchase of a session, or on the first
event after a session with several purchases. A burst of orders in one session
moves the user once, not once per order; browsing without buying moves nothing
(re-segmenting on every new session raised the clusters' daily churn on the Taobao
sample by half, see the README). Everything is in event time.

A user has no cluster (``None``) until the clusterer's warm-up ends. Once in a
cluster, a user stays in it for at least ``min_dwell_days`` of event time before
they may move: a young history changes shape with every order, and without the
dwell most users moved once or twice in their first days (on the Taobao sample a
tenth of the active users a day). The centres still learn from every update.

Per-user fields (stored in the user's record, JSON): ``[orders, sessions,
last_purchase_ts, rfm_segment, r, f, m, cluster, cluster_since_ts]`` as of the
user's last update. A record of eight fields (written before the dwell) has no
entry time: its user may move at once.

Global state (the quantiles, the scaler and the centres, and the segment sizes)
lives in this object, learned from the users of the partitions this worker holds.
:meth:`SegmentModel.to_state` and :meth:`~SegmentModel.load_state` carry the quantiles,
the scaler, the centres and the update count through the worker's model checkpoint,
so a restart keeps the cluster ids its users' records hold. The sizes are not
carried (they name active users): after a restart they count from empty again,
as the users are updated.

>>> from scorer.events import PurchaseEvent, PurchaseItem
>>> class State:  # the feature state's public attributes this model reads
...     orders, monetary, last_purchase_ts, sessions_total, views_total, carts_total = 1, 30.0, 86_400_000, 1, 4, 1
...     def current_x(self):
...         return {"purchases_hl7d": 1.0}
>>> model = SegmentModel()
>>> buy = PurchaseEvent("e1", "u1", 86_400_000, "o1", (PurchaseItem("i1", 30.0),))
>>> fields, out = model.observe(None, buy, State())
>>> out.rfm_segment, out.cluster, fields[3]  # the clusters are still warming up
('new', None, 'new')
>>> model.observe(fields, buy, State())[1] is None  # nothing new in the record: nothing to do
True
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from scorer.events import ClickEvent, PurchaseEvent, SegmentAssignment
from scorer.segments.clusters import Clusters
from scorer.segments.rfm import RFM_SEGMENTS, RfmQuantiles, name_of

__all__ = ["CLUSTER_FEATURES", "SegmentModel", "SegmentObservation"]

_DAY_MS = 86_400_000
#: Recency of a user who never bought, in days: far beyond any real gap the clusters see.
_NEVER_DAYS = 365.0
#: The behaviour the clusters are drawn on (their profile, in these units).
CLUSTER_FEATURES = ("r", "f", "m", "recency_days", "orders", "purchases_7d", "carts_per_view", "views_per_session")

# Indices into a user's fields.
_ORDERS, _SESSIONS, _LAST_PURCHASE, _RFM, _R, _F, _M, _CLUSTER, _CLUSTER_SINCE = range(9)


class _Sizes:
    """Running size, profile sums and recent buyers of each segment, over the users updated lately."""

    def __init__(self) -> None:
        self.n: dict[Any, int] = {}
        self.sums: dict[Any, list[float]] = {}
        self.buyers: dict[Any, int] = {}

    def add(self, segment: Any, profile: tuple[float, ...], bought: bool, sign: int) -> None:
        self.n[segment] = self.n.get(segment, 0) + sign
        sums = self.sums.setdefault(segment, [0.0] * len(profile))
        for i, value in enumerate(profile):
            sums[i] += sign * value
        self.buyers[segment] = self.buyers.get(segment, 0) + sign * bought

    def report(self, total: int) -> dict[str, dict[str, Any]]:
        out = {}
        for segment, n in sorted(self.n.items(), key=lambda kv: str(kv[0])):
            if n <= 0:
                continue
            out[str(segment)] = {
                "users": n,
                "share": n / total if total else 0.0,
                "purchase_rate_7d": self.buyers[segment] / n,
                "profile": {name: s / n for name, s in zip(CLUSTER_FEATURES, self.sums[segment])},
            }
        return out


@dataclass(frozen=True)
class SegmentObservation:
    """One user update as the global state learns it: no user id, only what moves quantiles and centres.

    ``recency_days`` is None for a user who has not bought twice; ``profile`` holds the
    values of :data:`CLUSTER_FEATURES`, in that order.

    >>> seen = SegmentObservation(3.5, 2.0, 40.0, (3.0, 2.0, 4.0, 3.5, 2.0, 1.0, 0.25, 4.0))
    >>> SegmentObservation.from_bytes(seen.to_bytes()) == seen
    True
    """

    recency_days: float | None
    orders: float
    monetary: float
    profile: tuple[float, ...]

    def to_bytes(self) -> bytes:
        return orjson.dumps([self.recency_days, self.orders, self.monetary, self.profile])

    @classmethod
    def from_bytes(cls, raw: bytes) -> SegmentObservation:
        """Decode and check one; a ValueError names what is wrong."""
        try:
            recency, orders, monetary, profile = orjson.loads(raw)
            seen = cls(
                None if recency is None else float(recency), float(orders), float(monetary), tuple(float(v) for v in profile)
            )
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise ValueError(f"not a segment observation: {exc}") from None
        if len(seen.profile) != len(CLUSTER_FEATURES):
            raise ValueError(f"a segment observation needs {len(CLUSTER_FEATURES)} profile values, got {len(seen.profile)}")
        values = (seen.orders, seen.monetary, *seen.profile) + (() if recency is None else (seen.recency_days,))
        if not all(math.isfinite(v) for v in values):  # type: ignore[arg-type]
            raise ValueError("a segment observation holds a non-finite value")
        return seen


class SegmentModel:
    """RFM scores and behavioural clusters per user, in event time (a :class:`~scorer.scoring.UserModel`)."""

    name = "segments"

    def __init__(
        self,
        clusters: Clusters | None = None,
        lineage: str = "seg",
        active_days: float = 30.0,
        min_dwell_days: float = 7.0,
    ) -> None:
        self.rfm = RfmQuantiles()
        self.clusters = clusters if clusters is not None else Clusters()
        self.lineage = lineage
        self.updates = 0
        self.published = 0
        #: With a list here, every update is recorded as ``(user_id, ts, rfm_segment, cluster)`` (offline evaluation).
        self.history: list[tuple[str, int, str, int | None]] | None = None
        self._active_ms = int(active_days * _DAY_MS)
        self._dwell_ms = int(min_dwell_days * _DAY_MS)
        # Users updated within ``active_days`` of the latest update, oldest first: what the sizes count.
        self._members: OrderedDict[str, tuple[str, int | None, int, tuple[float, ...], bool]] = OrderedDict()
        self._rfm_sizes = _Sizes()
        self._cluster_sizes = _Sizes()
        self._now = 0
        #: None: each update is learned here, at once (one worker, or ``local`` training). Set by
        #: shared training to publish each update instead; every worker then learns every
        #: worker's updates in the shared log's order (:meth:`learn_observation`).
        self.on_observation: Callable[[SegmentObservation], None] | None = None

    @property
    def version(self) -> str:
        return f"{self.name}-{self.lineage}.{self.updates}"

    def learn_observation(self, observation: SegmentObservation) -> None:
        """Fold one user update into the quantiles and the clusters (in log order with shared training)."""
        if observation.recency_days is not None and observation.orders:
            self.rfm.learn(observation.recency_days, observation.orders, observation.monetary)
        self.clusters.learn(dict(zip(CLUSTER_FEATURES, observation.profile)), None)

    def observe(self, fields: Any, event: ClickEvent | PurchaseEvent, state: Any) -> tuple[Any, SegmentAssignment | None]:
        """Re-segment the user when they bought since their last update and are in a new session; publish a change."""
        orders, sessions = state.orders, state.sessions_total
        if fields is not None and (fields[_ORDERS] == orders or fields[_SESSIONS] == sessions):
            return fields, None
        ts = event.ts
        if isinstance(event, PurchaseEvent):
            # The state already holds this purchase; recency is the gap it closed.
            previous = fields[_LAST_PURCHASE] if fields is not None else 0
        else:
            previous = state.last_purchase_ts
        recency = (ts - previous) / _DAY_MS if previous and orders else None
        monetary = float(state.monetary)
        shared = self.on_observation is not None
        if orders and recency is not None:
            if not shared:
                self.rfm.learn(recency, float(orders), monetary)
            r, f, m = self.rfm.scores(recency, float(orders), monetary)
        else:
            r = f = m = 0
        segment = name_of(r, f, m, orders)
        views = state.views_total
        raw = {
            "r": float(r),
            "f": float(f),
            "m": float(m),
            "recency_days": min(recency, _NEVER_DAYS) if recency is not None else _NEVER_DAYS,
            "orders": float(orders),
            "purchases_7d": state.current_x()["purchases_hl7d"],
            "carts_per_view": state.carts_total / views if views else 0.0,
            "views_per_session": views / sessions if sessions else 0.0,
        }
        current = fields[_CLUSTER] if fields is not None else None
        since = fields[_CLUSTER_SINCE] if fields is not None and len(fields) > _CLUSTER_SINCE else None
        if shared:
            # Learned when it comes back through the shared log, like every other worker's.
            self.on_observation(SegmentObservation(recency, float(orders), monetary, tuple(raw.values())))  # type: ignore[misc]
            nearest = self.clusters.assign(raw, current)
        else:
            nearest = self.clusters.learn(raw, current)
        cluster_id = self._dwell(nearest, current, since, ts)
        if cluster_id != current:
            since = ts
        self.updates += 1
        user = event.user_id
        bought = bool(orders) and ts - state.last_purchase_ts <= 7 * _DAY_MS
        self._enter(user, segment, cluster_id, ts, tuple(raw.values()), bought)
        if self.history is not None:
            self.history.append((user, ts, segment, cluster_id))
        new_fields = [orders, sessions, state.last_purchase_ts, segment, r, f, m, cluster_id, since]
        if fields is not None and fields[_RFM] == segment and fields[_CLUSTER] == cluster_id:
            return new_fields, None
        self.published += 1
        return new_fields, SegmentAssignment(user, segment, r, f, m, cluster_id, self.version, event.event_id, ts)

    def _dwell(self, nearest: int | None, current: int | None, since: int | None, ts: int) -> int | None:
        """The user's cluster: ``current`` while the clusterer is warming up or the dwell lasts, else ``nearest``."""
        if current is None or nearest == current:
            return nearest
        if nearest is None:
            # Centres are being rebuilt (a new model over old records): keep the id the user has.
            return current
        if since is not None and ts - since < self._dwell_ms:
            return current
        return nearest

    def _enter(self, user: str, segment: str, cluster_id: int | None, ts: int, profile: tuple[float, ...], bought: bool) -> None:
        self._leave(user)
        self._members[user] = (segment, cluster_id, ts, profile, bought)
        self._rfm_sizes.add(segment, profile, bought, 1)
        if cluster_id is not None:
            self._cluster_sizes.add(cluster_id, profile, bought, 1)
        if ts > self._now:
            self._now = ts
        # Users not updated lately leave the counts; this also drops users whose record
        # expired or moved to another worker, which the model is never told about.
        horizon = self._now - self._active_ms
        while self._members:
            oldest = next(iter(self._members))
            if self._members[oldest][2] >= horizon:
                break
            self._leave(oldest)

    def _leave(self, user: str) -> None:
        member = self._members.pop(user, None)
        if member is not None:
            segment, cluster_id, _, profile, bought = member
            self._rfm_sizes.add(segment, profile, bought, -1)
            if cluster_id is not None:
                self._cluster_sizes.add(cluster_id, profile, bought, -1)

    def forget_user(self, user_id: str) -> None:
        """An erased user leaves the sizes. Quantiles and centres hold no trace of who moved them."""
        self._leave(user_id)

    def to_state(self) -> dict[str, Any]:
        """Quantiles, clusters and counters as JSON-ready data, for the model snapshot (not the sizes)."""
        return {"rfm": self.rfm.to_state(), "clusters": self.clusters.to_state(), "updates": self.updates, "published": self.published}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`to_state`'s output (the lineage, dwell and active window stay this object's).

        Clusters saved under another ``SCORER_SEGMENT_CLUSTERS`` are not loaded: a new warm-up
        starts, and users keep their recorded ids until the new centres exist.
        """
        self.rfm.load_state(state["rfm"])
        self.clusters.load_state(state["clusters"])
        self.updates = int(state["updates"])
        self.published = int(state["published"])

    def describe(self, fields: Any) -> dict[str, Any]:
        return {
            "rfm": {"segment": fields[_RFM], "r": fields[_R], "f": fields[_F], "m": fields[_M]},
            "cluster": fields[_CLUSTER],
        }

    def dimensions(self, fields: Any) -> dict[str, str]:
        """The user's RFM segment as a quality dimension: the live calibration is cut by it.

        Only RFM: its eight names mean the same on every worker and across restarts,
        where a cluster id is one worker's numbering.
        """
        return {"rfm": fields[_RFM]}

    def summary(self) -> dict[str, Any]:
        """Each segment's size, profile (mean features) and recent purchase rate: ``GET /segments``."""
        total = len(self._members)
        clusters = self._cluster_sizes.report(total)
        for cluster_id, entry in clusters.items():
            entry["centre"] = self.clusters.centre(int(cluster_id))
        rfm = self._rfm_sizes.report(total)
        return {
            "model_version": self.version,
            # Updates the quantiles and centres learned: this worker's own, or every worker's with shared training.
            "updates_learned": self.clusters.learned,
            "active_users": total,
            "active_days": self._active_ms / _DAY_MS,
            "rfm": {name: rfm[name] for name in RFM_SEGMENTS if name in rfm},
            "rfm_cuts": dict(zip(("recency_days", "orders", "monetary"), self.rfm.cuts())),
            "clusters": clusters,
        }
