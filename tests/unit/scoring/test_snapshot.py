"""Sealed snapshots: a faithful round trip under the key, and nothing at all under any other bytes."""

import hashlib
import hmac
import pickle
import random
import zlib

import pytest
import river

from scorer.propensity import MODELS, ChampionChallenger, PropensityModel
from scorer.scoring import FORMAT_VERSION, MAGIC, ModelSnapshot, SnapshotRejected, seal, unseal
from scorer.scoring.snapshot import FEATURE_SET

KEY = bytes(range(32))
OTHER_KEY = b"not the scorer's key, but as long"
POSITIONS = {"clickstream/0": 1_234, "clickstream/3": 7}


def examples(seed: int, n: int):
    rng = random.Random(seed)
    for _ in range(n):
        x = {"views": float(rng.randint(0, 20)), "carts": float(rng.randint(0, 3)), "recency_s": rng.expovariate(1e-3)}
        yield x, x["carts"] + rng.gauss(0.0, 1.0) > 2.0


def trained(name: str, n: int = 300) -> PropensityModel:
    model = PropensityModel(name, lineage="snap", seed=1)
    for x, y in examples(seed=0, n=n):
        model.learn(x, y)
    return model


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return seal(ModelSnapshot(trained("logreg", 50), POSITIONS, 1_700_000_000_000, {"quality": [0.25, 3]}), KEY)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_round_trip_predicts_identically_for_every_registered_model(name):
    model = trained(name)
    restored = unseal(seal(ModelSnapshot(model, POSITIONS, 1_700_000_000_000, {"note": "x"}), KEY), KEY)
    assert restored.positions == POSITIONS
    assert restored.created_ts == 1_700_000_000_000 and restored.extra == {"note": "x"}
    assert restored.model.version == model.version and restored.model.learned_positive == model.learned_positive
    probes = [x for x, _ in examples(seed=9, n=50)]
    assert [restored.model.predict(x) for x in probes] == [model.predict(x) for x in probes]


def test_a_champion_challenger_pair_survives_the_round_trip_mid_challenge():
    model = ChampionChallenger(PropensityModel("logreg", lineage="pair"))
    rng = random.Random(0)
    for i in range(4_300):
        x = {"a": rng.gauss(0.0, 1.0)}
        model.learn(x, x["a"] > 0 if i < 4_000 else x["a"] < 0)
    assert model.challenger is not None
    restored = unseal(seal(ModelSnapshot(model), KEY), KEY).model
    assert restored.status() == model.status()
    assert restored.shadow_predict({"a": 1.0}) == model.shadow_predict({"a": 1.0})


def test_every_flipped_byte_is_refused(sealed):
    for index in range(len(sealed)):
        forged = bytearray(sealed)
        forged[index] ^= 0x01
        with pytest.raises(SnapshotRejected):
            unseal(bytes(forged), KEY)


@pytest.mark.parametrize("key", [OTHER_KEY, KEY[:-1], KEY[:-1] + b"\xff"])
def test_a_wrong_key_is_refused(sealed, key):
    with pytest.raises(SnapshotRejected, match="wrong tag"):
        unseal(sealed, key)


def test_an_empty_key_is_refused_both_ways(sealed):
    with pytest.raises(SnapshotRejected, match="empty key"):
        unseal(sealed, b"")
    with pytest.raises(ValueError):
        seal(ModelSnapshot(trained("logreg", 5)), b"")


def test_truncated_or_extended_bytes_are_refused(sealed):
    for length in [0, 1, len(MAGIC), len(MAGIC) + 1, len(MAGIC) + 33, len(sealed) // 2, len(sealed) - 1]:
        with pytest.raises(SnapshotRejected):
            unseal(sealed[:length], KEY)
    with pytest.raises(SnapshotRejected, match="wrong tag"):
        unseal(sealed + b"\x00", KEY)


executed: list[str] = []


def _record(what: str) -> None:
    executed.append(what)


class _Payload:
    def __reduce__(self):
        return _record, ("unpickled",)


def test_a_forged_body_with_a_tag_under_another_key_is_refused_before_it_is_unpickled():
    prefix = MAGIC + bytes([FORMAT_VERSION])
    header = f'{{"positions":{{}},"created_ts":0,"extra":{{}},"river":"{river.__version__}","features":"{FEATURE_SET}"}}'.encode()
    body = zlib.compress(len(header).to_bytes(4, "big") + header + pickle.dumps(_Payload()))
    forged = prefix + hmac.new(OTHER_KEY, prefix + body, hashlib.sha256).digest() + body
    assert unseal(forged, OTHER_KEY).model is None and executed == ["unpickled"]  # the forgery is well formed
    executed.clear()
    with pytest.raises(SnapshotRejected, match="wrong tag"):
        unseal(forged, KEY)
    assert executed == []


def test_a_foreign_magic_or_format_version_is_refused_even_under_a_valid_tag(sealed):
    body = sealed[len(MAGIC) + 1 + 32 :]
    for prefix, reason in [(b"XXXX" + bytes([FORMAT_VERSION]), "not a model snapshot"), (MAGIC + b"\x02", "format version")]:
        tagged = prefix + hmac.new(KEY, prefix + body, hashlib.sha256).digest() + body
        with pytest.raises(SnapshotRejected, match=reason):
            unseal(tagged, KEY)


def test_a_snapshot_from_another_river_version_is_refused(sealed, monkeypatch):
    monkeypatch.setattr(river, "__version__", "0.0.1")
    with pytest.raises(SnapshotRejected, match="river"):
        unseal(sealed, KEY)


def test_extra_must_be_json(sealed):
    with pytest.raises(TypeError):
        seal(ModelSnapshot(trained("logreg", 5), extra={"model": object()}), KEY)
    with pytest.raises(ValueError):
        seal(ModelSnapshot(trained("logreg", 5), extra={"rate": float("nan")}), KEY)


def test_rejection_is_a_value_error_with_a_reason():
    with pytest.raises(ValueError) as refused:
        unseal(b"nonsense", KEY)
    assert isinstance(refused.value, SnapshotRejected) and refused.value.reason == "truncated"


def test_a_snapshot_learned_on_the_earlier_feature_set_is_refused():
    """The fixture was sealed by the pre-``scorer`` layout, before the bounded feature vector:
    authentic, but a model of other features, so it is refused and a fresh one starts."""
    import json
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "data"
    meta = json.loads((data / "snapshot-online_models-v1.json").read_text())
    raw = (data / "snapshot-online_models-v1.bin").read_bytes()
    with pytest.raises(SnapshotRejected, match="feature set"):
        unseal(raw, meta["key"].encode())
    with pytest.raises(SnapshotRejected, match="wrong tag"):
        unseal(raw, b"another key")
