"""Model checkpoints on a compacted topic, authenticated with an HMAC.

The propensity model (with its challenger and its live quality) is sealed
(:mod:`scorer.scoring.snapshot`) and published to ``SCORER_TOPIC_MODELS`` under
the app id as key, so compaction keeps the newest. A starting worker reads the
topic back and resumes from the newest snapshot whose tag verifies; a snapshot
that fails the check is logged, counted and skipped, never deserialized.

The per-user models' global state (the lifetime-value sample and parameters, the
segment model's quantiles, scaler and cluster centres, the offer policy) rides in
the snapshot's ``extra`` under ``user_models``, by model name, for models that offer
``to_state``/``load_state``; their per-user fields are in the user records already.

Snapshots are taken when offsets are committed (just after the user state is
flushed), so a snapshot reflects exactly the events whose offsets it records:
after a crash the model may miss what it learned since the last snapshot, but it
never learns an example twice. A graceful stop always writes a last snapshot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from scorer.kafka import read_partition
from scorer.propensity import QualityTracker
from scorer.scoring import ModelSnapshot, ScoringPipeline, SnapshotRejected, seal, unseal
from scorer.settings import Settings
from scorer.worker.prometheus import ScorerMetrics

log = logging.getLogger(__name__)


class Checkpoints:
    """Write and read sealed model snapshots for one app."""

    def __init__(
        self,
        settings: Settings,
        produce: Callable[[str, bytes, bytes], None],
        on_rejected: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.settings = settings
        self.topic = settings.topic_models
        self.key = settings.app_id.encode()
        self._secret = settings.model_key.encode()
        self._produce = produce
        self._on_rejected = on_rejected
        self.saved = 0
        self.last_saved_ts: float | None = None
        self.last_size = 0

    @property
    def enabled(self) -> bool:
        """Without a key there is nothing to authenticate with, so nothing is written or read."""
        return bool(self._secret)

    def save(self, snapshot: ModelSnapshot, now_s: float) -> int:
        """Seal and publish ``snapshot``; returns its size in bytes."""
        sealed = seal(snapshot, self._secret)
        self._produce(self.topic, self.key, sealed)
        self.saved += 1
        self.last_saved_ts = now_s
        self.last_size = len(sealed)
        return len(sealed)

    def load_latest(self, timeout_s: float = 15.0) -> ModelSnapshot | None:
        """The newest snapshot of this app that verifies, or None."""
        if not self.enabled:
            return None
        for raw in reversed(read_partition(self.settings, self.topic, 0, timeout_s, key=self.key)):
            try:
                return unseal(raw, self._secret)
            except SnapshotRejected as exc:
                log.error("model snapshot refused (%s); trying an older one", exc)
                self._on_rejected(str(exc))
        return None


class ModelCheckpointer:
    """Resume the pipeline's model from its newest snapshot, and snapshot it when due.

    The worker calls :meth:`resume` once at start and :meth:`save_if_due` right after
    each state flush (so a snapshot reflects exactly the offsets about to be committed).
    ``positions`` gives the input positions the model reflects at that moment.
    """

    def __init__(
        self,
        settings: Settings,
        pipeline: ScoringPipeline,
        checkpoints: Checkpoints,
        metrics: ScorerMetrics,
        positions: Callable[[], dict[str, int]],
        user_models: Sequence[Any] = (),
    ) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.user_models = [model for model in user_models if hasattr(model, "to_state") and hasattr(model, "load_state")]
        self.checkpoints = checkpoints
        self.metrics = metrics
        self._positions = positions
        self.resumed_from: dict[str, Any] | None = None
        self._last = time.monotonic()

    def resume(self) -> dict[str, int]:
        """Continue from the newest authentic snapshot, if there is one; returns its positions."""
        if not self.checkpoints.enabled:
            log.warning("SCORER_MODEL_KEY is not set: the model is not checkpointed and a restart starts it afresh")
            return {}
        snapshot = self.checkpoints.load_latest()
        if snapshot is None:
            return {}
        self.pipeline.model = snapshot.model
        quality = snapshot.extra.get("quality")
        if quality is not None:
            self.pipeline.quality = QualityTracker.from_state(quality, window=self.settings.quality_window)
        states = snapshot.extra.get("user_models", {})
        for model in self.user_models:
            if model.name in states:
                model.load_state(states[model.name])
        self.resumed_from = {"model_version": snapshot.model.version, "created_ts": snapshot.created_ts, "positions": snapshot.positions}
        log.info("resumed model %s from its checkpoint", snapshot.model.version)
        return snapshot.positions

    def save_if_due(self, force: bool = False) -> None:
        """Seal and publish a snapshot when the interval has passed (always with ``force``)."""
        if not self.checkpoints.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.settings.checkpoint_interval_s:
            return
        self._last = now
        snapshot = ModelSnapshot(
            model=self.pipeline.model,
            positions=self._positions(),
            created_ts=int(time.time() * 1000),
            extra={
                "quality": self.pipeline.quality.to_state(),
                "user_models": {model.name: model.to_state() for model in self.user_models},
            },
        )
        started = time.perf_counter()
        size = self.checkpoints.save(snapshot, time.time())
        self.metrics.checkpoint_seconds.observe(time.perf_counter() - started)
        self.metrics.checkpoint_bytes.set(size)
        self.metrics.checkpoints.inc()
