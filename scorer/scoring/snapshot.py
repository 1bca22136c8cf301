"""Authenticated model snapshots: seal a learned model into bytes, and refuse bytes nobody vouched for.

Snapshots travel through a compacted Kafka topic that only the scorer writes, but a topic is
never trusted: anyone who can produce to it could otherwise run code on the worker through
the unpickler. So the bytes carry an HMAC-SHA256 tag under a secret key, and the tag is
checked before a single byte of the body is decompressed, parsed or unpickled.

Layout (all lengths fixed except the body)::

    MAGIC (4 bytes) | FORMAT_VERSION (1 byte) | tag (32 bytes) | body

The tag covers the magic, the format version and the body, so neither can be swapped
under a valid tag. The body is zlib-compressed and holds a length-prefixed JSON header
(positions, event time, extra, River version) followed by the pickled model.

The body is a pickle, and pickle runs code while it loads. That is acceptable here ONLY
because it is unpickled after the tag verifies, i.e. only bytes written by a holder of the
key are ever unpickled. Never unpickle a body on any other path.

The key should be 32 random bytes (``secrets.token_bytes(32)``, kept as a secret setting).
HMAC pads a key shorter than 64 bytes with zeros, so ``k`` and ``k + b"\\0"`` give the
same tag: never pad or trim a key by hand.

A snapshot written under another River version is refused too: River classes pickle by
qualified name and attribute layout, and an upgrade can turn an old pickle into a model
that loads but predicts nonsense. A refused snapshot means starting from a fresh model.
For the same reason, renaming or moving the functions a registered model pipes through
(``registry.signed_log1p``, ``registry.clip_z``) makes older snapshots unloadable.

Snapshots sealed before the code moved into the ``scorer`` package name their classes
``online_models.champion`` and so on. For one release they still load: the unpickler maps
those module names (:data:`LEGACY_MODULES`) to where the same classes live now, so a
deployment upgrades without losing what its model learned. Only the module path changed,
not the classes, so the mapped model predicts exactly as before.

>>> from scorer.propensity.model import PropensityModel
>>> model = PropensityModel("logreg", lineage="doc")
>>> model.learn({"views": 3.0}, True)
>>> raw = seal(ModelSnapshot(model, {"clickstream/0": 42}, created_ts=1_700_000_000_000), b"k" * 32)
>>> restored = unseal(raw, b"k" * 32)
>>> restored.model.version, restored.positions, restored.created_ts
('doc.1', {'clickstream/0': 42}, 1700000000000)
>>> model.classifier["LogisticRegression"]._weights["views"] = float("nan")
>>> seal(ModelSnapshot(model), b"k" * 32)
Traceback (most recent call last):
    ...
scorer.scoring.snapshot.NonFiniteModel: a model with non-finite parameters is never sealed
>>> unseal(raw, b"another key")
Traceback (most recent call last):
    ...
scorer.scoring.snapshot.SnapshotRejected: wrong tag
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import pickle
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import river

from scorer.features import FEATURE_NAMES, VECTOR_VERSION

__all__ = [
    "FORMAT_VERSION",
    "LEGACY_MODULES",
    "MAGIC",
    "ModelSnapshot",
    "NonFiniteModel",
    "SnapshotRejected",
    "finish_seal",
    "seal",
    "serialize",
    "unseal",
]

MAGIC = b"OMSN"
FORMAT_VERSION = 1

#: Names the feature vector a sealed model was trained on: the features in order and the
#: version of the transform that bounds them (:mod:`scorer.features.vector`).
FEATURE_SET = hashlib.sha256((f"{VECTOR_VERSION}:" + ",".join(FEATURE_NAMES)).encode()).hexdigest()[:16]
_TAG_SIZE = hashlib.sha256().digest_size
_PREFIX_SIZE = len(MAGIC) + 1
_HEADER_LENGTH = struct.Struct(">I")
#: Tree models are mostly packed floats that hardly compress: on an ARF of 31 MiB, level 6
#: saved 17% in 1.6 s and level 1 saved 17% in 0.6 s. Checkpoints are taken while scoring.
_ZLIB_LEVEL = 1
#: Module paths of snapshots sealed before the ``scorer`` package, and where they live now.
#: Kept for one release (0.2); after it such snapshots are refused as unloadable.
LEGACY_MODULES = {
    "online_models.champion": "scorer.propensity.champion",
    "online_models.propensity": "scorer.propensity.model",
    "online_models.registry": "scorer.propensity.registry",
    "online_models.explain": "scorer.propensity.explain",
    "online_models.quality": "scorer.propensity.quality",
}


class _Unpickler(pickle.Unpickler):
    """Reads authenticated bodies, finding classes sealed under their pre-``scorer`` module paths."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(LEGACY_MODULES.get(module, module), name)


class SnapshotRejected(ValueError):
    """Bytes that are not a snapshot sealed under this key; ``reason`` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NonFiniteModel(ValueError):
    """A model whose parameters are not finite: sealing it would carry the damage across a restart."""


def _is_finite(model: Any) -> bool:
    # Models that can tell (PropensityModel, ChampionChallenger) are asked; others are trusted.
    check = getattr(model, "is_finite", None)
    return bool(check()) if callable(check) else True


@dataclass(slots=True)
class ModelSnapshot:
    """A model and the input it reflects.

    ``model`` is any picklable object (a ``PropensityModel``, a ``ChampionChallenger``).
    ``positions`` maps an input (e.g. ``"clickstream/3"``) to the next offset the model has
    not seen; this module does not interpret it. ``created_ts`` is event time in ms, given
    by the caller. ``extra`` must be JSON-able (e.g. quality tracker state).
    """

    model: Any
    positions: dict[str, int] = field(default_factory=dict)
    created_ts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def seal(snapshot: ModelSnapshot, key: bytes) -> bytes:
    """Serialize ``snapshot`` and authenticate it with HMAC-SHA256 under ``key``.

    Raises ValueError on an empty key, or when ``positions``/``extra`` are not JSON-able, and
    :class:`NonFiniteModel` (a ValueError) for a model with non-finite parameters.

    The same as ``finish_seal(serialize(snapshot), key)``: :func:`serialize` is the part that
    reads the model (it must not change meanwhile), :func:`finish_seal` only reads bytes.
    """
    if not key:
        raise ValueError("an empty key authenticates nothing")
    return finish_seal(serialize(snapshot), key)


def serialize(snapshot: ModelSnapshot) -> bytes:
    """The uncompressed body of ``snapshot``: the length-prefixed JSON header and the pickled model.

    The only step of sealing that reads the model, so the only one that needs it to hold
    still. Raises ValueError when ``positions``/``extra`` are not JSON-able, and
    :class:`NonFiniteModel` for a model with non-finite parameters.
    """
    if not _is_finite(snapshot.model):
        raise NonFiniteModel("a model with non-finite parameters is never sealed")
    header = json.dumps(
        {
            "positions": {str(name): int(offset) for name, offset in snapshot.positions.items()},
            "created_ts": int(snapshot.created_ts),
            "extra": snapshot.extra,
            "river": river.__version__,
            "features": FEATURE_SET,
        },
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    return _HEADER_LENGTH.pack(len(header)) + header + pickle.dumps(snapshot.model, protocol=pickle.HIGHEST_PROTOCOL)


def finish_seal(payload: bytes, key: bytes) -> bytes:
    """Compress a :func:`serialize` body and tag it under ``key``: the sealed bytes.

    A pure function of two byte strings that touches no model, so it may run in another
    thread while the model goes on learning (zlib and hashlib release the GIL on large
    buffers). Raises ValueError on an empty key.
    """
    if not key:
        raise ValueError("an empty key authenticates nothing")
    body = zlib.compress(payload, _ZLIB_LEVEL)
    prefix = MAGIC + bytes([FORMAT_VERSION])
    return prefix + _tag(key, prefix, body) + body


def unseal(raw: bytes, key: bytes) -> ModelSnapshot:
    """Verify ``raw`` under ``key``, then (and only then) decode it.

    Raises SnapshotRejected on an empty key, a foreign magic, an unknown format version,
    truncation, a wrong tag, a snapshot written under another River version, or a model
    with non-finite parameters.
    """
    if not key:
        raise SnapshotRejected("empty key")
    raw = bytes(raw)
    if len(raw) < _PREFIX_SIZE + _TAG_SIZE:
        raise SnapshotRejected("truncated")
    prefix, tag, body = raw[:_PREFIX_SIZE], raw[_PREFIX_SIZE : _PREFIX_SIZE + _TAG_SIZE], raw[_PREFIX_SIZE + _TAG_SIZE :]
    if prefix[: len(MAGIC)] != MAGIC:
        raise SnapshotRejected("not a model snapshot")
    if prefix[len(MAGIC)] != FORMAT_VERSION:
        raise SnapshotRejected(f"unknown format version {prefix[len(MAGIC)]}")
    if not hmac.compare_digest(tag, _tag(key, prefix, body)):
        raise SnapshotRejected("wrong tag")
    # Authenticated from here on: whoever wrote these bytes held the key.
    try:
        payload = zlib.decompress(body)
        (length,) = _HEADER_LENGTH.unpack_from(payload)
        header = json.loads(payload[_HEADER_LENGTH.size : _HEADER_LENGTH.size + length])
    except (zlib.error, struct.error, ValueError) as error:
        raise SnapshotRejected(f"corrupt body: {error}") from None
    if header.get("river") != river.__version__:
        raise SnapshotRejected(f"written under river {header.get('river')}, running {river.__version__}")
    if header.get("features") != FEATURE_SET:
        # A model learned on other features (or other transforms of them) would score nonsense.
        raise SnapshotRejected(f"built for feature set {header.get('features')}, running {FEATURE_SET}")
    try:
        model = _Unpickler(io.BytesIO(payload[_HEADER_LENGTH.size + length :])).load()
    except Exception as error:
        # Authentic but unloadable (a class moved or renamed since it was written): the
        # caller's remedy is the same as for any refusal, a fresh model.
        raise SnapshotRejected(f"unloadable model: {error!r}") from None
    # Authentic, and sealed by a version that checked nothing: refused like a forged one.
    if not _is_finite(model):
        raise SnapshotRejected("non-finite parameters")
    return ModelSnapshot(model, header["positions"], header["created_ts"], header["extra"])


def _tag(key: bytes, prefix: bytes, body: bytes) -> bytes:
    mac = hmac.new(key, prefix, hashlib.sha256)
    mac.update(body)
    return mac.digest()
