"""Token stores: round trip, validation, shard budgets, self-describing shards, resume."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import audiotok
from audiotok.errors import AudiotokError, InvalidTokensError, SpecMismatchError
from audiotok.recipe import TokenizerConfig
from audiotok.spec import TokenSpec
from audiotok.store import TokenStore, TokenWriter
from audiotok.store import tokens as T

SEM = TokenSpec(
    "semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, weights_sha256="ab", semantic_codebooks=(0,)
)
ACU = TokenSpec("acoustic", "codec", 24000, 75.0, 4, 1024, weights_sha256="cd")
BIG = TokenSpec("acoustic", "big-vocab", 24000, 75.0, 2, 100_000)


def _codes(k, t, seed, size=50):
    return np.random.default_rng(seed).integers(0, size, size=(k, t))


@pytest.mark.parametrize("spec", [SEM, ACU, BIG])
def test_round_trip_always_k_by_t(tmp_path, spec):
    k, size = spec.num_codebooks, min(spec.codebook_size, 100_000)
    data = {f"spk/u{i}": _codes(k, 5 + 3 * i, i, size) for i in range(7)}
    w = TokenWriter(tmp_path / "s", spec, shard_size=3)
    for i, (uid, c) in enumerate(data.items()):
        w.add(uid, f"spk/u{i}.wav", 0.1 * i, c)
    w.close()
    ts = audiotok.open_tokens(str(tmp_path / "s"))
    assert ts.spec == spec and len(ts) == 7 and len(ts.manifest.shards) == 3
    got = dict(ts)
    assert got.keys() == data.keys()
    for uid, c in data.items():
        assert got[uid].shape == (k, c.shape[1])
        assert got[uid].dtype == (np.uint16 if spec.codebook_size <= 65536 else np.uint32)
        np.testing.assert_array_equal(got[uid], c)
        np.testing.assert_array_equal(ts.get(uid), c)
    assert ts.manifest.num_frames == sum(c.shape[-1] for c in data.values())
    assert "spk/u4" in ts and "nope" not in ts
    with pytest.raises(KeyError, match="nope"):
        ts.get("nope")


def test_iteration_is_zero_copy_views(tmp_path):
    w = TokenWriter(tmp_path, ACU)
    for i in range(3):
        w.add(f"u{i}", f"u{i}.wav", 1.0, _codes(4, 10, i))
    w.close()
    views = [c for _, c in TokenStore(tmp_path)]
    assert all(not v.flags.writeable for v in views)  # read-only views into Arrow buffers
    assert views[0].base is not None and views[1].base is not None


@pytest.mark.parametrize(
    "codes, match",
    [
        (np.array([[1, 2, -1]]), "code -1 is outside 0..49"),
        (np.array([[1, 70000, 3]]), "code 70000 is outside 0..49"),
        (np.zeros((2, 5), np.int64), r"must be \[K=1, T'\]"),
        (np.zeros((1, 2, 3), np.int64), r"must be \[K=1, T'\]"),
        (np.array([[0.5, 1.0]]), "must be integers"),
    ],
)
def test_invalid_codes_are_refused_not_wrapped(tmp_path, codes, match):
    w = TokenWriter(tmp_path, SEM)
    with pytest.raises(InvalidTokensError, match=match):
        w.add("u", "u.wav", 1.0, codes)
    w.add("ok", "ok.wav", 1.0, np.array([0, 49]))  # [T'] accepted for K = 1
    w.close()
    assert TokenStore(tmp_path).ids() == ["ok"]


def test_shards_are_self_describing_parquet(tmp_path):
    recipe = TokenizerConfig("codec", {"n_codebooks": 4})
    w = TokenWriter(tmp_path, ACU, recipe=recipe)
    w.add("a", "a.wav", 1.0, _codes(4, 9, 0))
    w.close()
    f = next(tmp_path.glob("shard-*.parquet"))
    table = pq.read_table(f)
    assert table.column_names == ["id", "path", "duration_s", "num_frames", "codes"]
    row = table.to_pylist()[0]
    assert len(row["codes"]) == 4 and len(row["codes"][0]) == 9 and row["num_frames"] == 9
    assert table.schema.field("codes").type.value_type.value_type == pa.uint16()
    meta = pq.read_schema(f).metadata
    assert TokenSpec.from_dict(json.loads(meta[b"audiotok.spec"])) == ACU
    assert json.loads(meta[b"audiotok.recipe"]) == recipe.to_dict()
    assert meta[b"audiotok.format_version"] == b"2"
    assert TokenStore(tmp_path).recipe == recipe


def test_shards_are_cut_by_size_as_well_as_count(tmp_path):
    w = TokenWriter(tmp_path, ACU, shard_size=1000, shard_bytes=4 * 100 * 2 * 3)
    for i in range(10):  # each utterance: 4 x 100 uint16 = 800 bytes -> 3 per shard
        w.add(f"u{i}", f"u{i}.wav", 1.0, _codes(4, 100, i))
    w.close()
    assert [s["num_utterances"] for s in TokenStore(tmp_path).manifest.shards] == [3, 3, 3, 1]


def test_64_bit_offsets_where_a_shard_needs_them(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "INT32_MAX", 50)  # what 2^31 - 1 codes would do, at toy size
    data = {f"u{i}": _codes(4, 10, i) for i in range(3)}  # 120 codes > 50
    w = TokenWriter(tmp_path, ACU)
    for uid, c in data.items():
        w.add(uid, f"{uid}.wav", 1.0, c)
    w.close()
    typ = pq.read_schema(next(tmp_path.glob("shard-*"))).field("codes").type
    assert pa.types.is_large_list(typ.value_type)
    ts = TokenStore(tmp_path)
    for uid, c in data.items():
        np.testing.assert_array_equal(ts.get(uid), c)


def test_refuses_tokens_of_another_tokenizer_or_recipe(tmp_path):
    r1 = TokenizerConfig("x", {"layers": [6], "dtype": "float32"})
    TokenWriter(tmp_path, SEM, recipe=r1).close()
    other = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=9, weights_sha256="ab")
    with pytest.raises(SpecMismatchError, match="layer"):
        TokenWriter(tmp_path, other)
    r2 = TokenizerConfig("x", {"layers": [6], "dtype": "bfloat16"})
    with pytest.raises(SpecMismatchError, match="dtype: 'float32' != 'bfloat16'"):
        TokenWriter(tmp_path, SEM, recipe=r2)
    moved = TokenizerConfig("x", {"layers": [6], "dtype": "float32", "weights": "/elsewhere"})
    TokenWriter(tmp_path, SEM, recipe=moved).close()  # a file's place is not its identity
    TokenWriter(tmp_path, other, overwrite=True).close()
    assert TokenStore(tmp_path).spec.layer == 9


def test_resume_ignores_what_a_killed_run_left(tmp_path):
    w = TokenWriter(tmp_path, SEM, shard_size=2)
    for i in range(5):
        w.add(f"u{i}", f"u{i}.wav", 1.0, _codes(1, 4, i))
    w.lock.release()  # killed here: 2 shards committed, one row buffered, and debris
    (tmp_path / ".shard-000002.parquet.0badcafe.tmp").write_bytes(b"half")
    (tmp_path / "shard-000009.parquet").write_bytes(b"renamed but never committed")
    (tmp_path / "notes.tmp").write_text("the user's")
    w2 = TokenWriter(tmp_path, SEM)
    assert w2.done_ids == {"u0", "u1", "u2", "u3"}
    assert not (tmp_path / ".shard-000002.parquet.0badcafe.tmp").exists()
    assert not (tmp_path / "shard-000009.parquet").exists()
    assert (tmp_path / "notes.tmp").read_text() == "the user's"
    with pytest.raises(AudiotokError, match="already in the store"):
        w2.add("u1", "u1.wav", 1.0, _codes(1, 4, 1))
    w2.add("u4", "u4.wav", 1.0, _codes(1, 4, 4))
    w2.close()
    assert sorted(TokenStore(tmp_path).ids()) == ["u0", "u1", "u2", "u3", "u4"]


def test_errors_are_kept_and_cleared_when_a_file_succeeds(tmp_path):
    w = TokenWriter(tmp_path, SEM)
    w.add_error("bad", "bad.wav", "empty file (0 bytes)")
    w.add_error("late", "late.wav", "corrupt")
    w.close()
    w = TokenWriter(tmp_path, SEM)
    w.add("late", "late.wav", 1.0, _codes(1, 3, 0))
    m = w.close()
    assert [e["id"] for e in m.errors] == ["bad"]


def test_output_must_be_a_store_or_empty(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(AudiotokError, match="not a directory"):
        TokenWriter(tmp_path / "f", SEM)
    with pytest.raises(AudiotokError, match="is a file"):
        TokenWriter(tmp_path / "f" / "sub", SEM)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    with pytest.raises(AudiotokError, match="not empty"):
        TokenWriter(tmp_path / "d", SEM)


def test_overwrite_removes_only_the_store(tmp_path):
    w = TokenWriter(tmp_path, SEM)
    w.add("a", "a.wav", 1.0, _codes(1, 3, 0))
    w.close()
    (tmp_path / "README.txt").write_text("the user's")
    TokenWriter(tmp_path, ACU, overwrite=True).close()
    assert (tmp_path / "README.txt").read_text() == "the user's"
    assert TokenStore(tmp_path).spec == ACU and len(TokenStore(tmp_path)) == 0


def test_paths_resolve_from_the_record(tmp_path):
    root = tmp_path / "corpus"
    w = TokenWriter(tmp_path / "s", SEM, audio_root=root)
    w.add("a", str(root / "spk" / "a.wav"), 1.0, _codes(1, 3, 0))
    w.add("b", "/elsewhere/b.flac", 1.0, _codes(1, 3, 1))  # outside the root: absolute
    w.close()
    ts = TokenStore(tmp_path / "s")
    assert pq.read_table(ts.shard_paths[0]).column("path").to_pylist() == [
        "spk/a.wav",
        "/elsewhere/b.flac",
    ]
    assert ts.audio_path("a") == root / "spk" / "a.wav"
    assert ts.audio_path("b") == __import__("pathlib").Path("/elsewhere/b.flac")
    assert {r["id"]: r["audio_path"] for r in ts.rows()}["a"] == root / "spk" / "a.wav"
    moved = TokenStore(tmp_path / "s", audio_root=tmp_path / "moved")
    assert moved.audio_path("a") == tmp_path / "moved" / "spk" / "a.wav"


def test_the_flat_copy_equals_the_parquet_codes_and_is_verified(tmp_path):
    data = {f"u{i}": _codes(4, 7 + i, i) for i in range(5)}
    w = TokenWriter(tmp_path, ACU, shard_size=2)
    for uid, c in data.items():
        w.add(uid, f"{uid}.wav", 1.0, c)
    w.close()
    ts = TokenStore(tmp_path)
    rows = ts.to_table().to_pylist()  # what pandas/DuckDB users see
    for r in rows:
        np.testing.assert_array_equal(np.array(r["codes"]), ts.get(r["id"]))
    flat = next((tmp_path / ".codes").glob("shard-000001.npy"))
    arr = np.load(flat)
    arr[0] ^= 1
    np.save(flat, arr)
    assert [e["file"] for e, _ in ts.verify()] == ["shard-000001.parquet"]
