"""The per-event core: one user record, one pipeline, one engine over a partitioned store.

Pure (events, features and the model rooms): no Kafka, Faust, Prometheus, environment or
wall clock. The layers of the per-event work, inside out: ``record`` is everything kept
per user; ``pipeline`` turns one event and one record into an updated record and maybe a
score (features, prediction, label join); ``engine`` runs the pipeline and the
recommender over a partitioned store, in event time per partition, with replay
detection, consent and expiry; ``offline`` is the prequential evaluation through that
same engine; ``store`` is the one in-memory store of tests and offline runs;
``snapshot`` seals any model for checkpoints. The worker's ``processor`` wraps the
engine with decoding, publishing and metrics.
"""

from scorer.scoring.align import InputAligner
from scorer.scoring.record import UserRecord
from scorer.scoring.pipeline import Scorer, ScoringPipeline, segment_of, segments_of
from scorer.scoring.store import MemoryStore, RecordStore
from scorer.scoring.engine import ListPolicy, ScoringEngine
from scorer.scoring.user_models import UserModel
from scorer.scoring.offline import PropensityRun, ScoredClick, label, label_with_users, run_offline
from scorer.scoring.snapshot import FORMAT_VERSION, MAGIC, ModelSnapshot, SnapshotRejected, finish_seal, seal, serialize, unseal

__all__ = [
    "InputAligner",
    "FORMAT_VERSION",
    "ListPolicy",
    "MAGIC",
    "MemoryStore",
    "ModelSnapshot",
    "PropensityRun",
    "RecordStore",
    "ScoredClick",
    "Scorer",
    "ScoringEngine",
    "ScoringPipeline",
    "SnapshotRejected",
    "UserModel",
    "UserRecord",
    "finish_seal",
    "label",
    "label_with_users",
    "run_offline",
    "seal",
    "segment_of",
    "segments_of",
    "serialize",
    "unseal",
]
