import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import audiotok
from audiotok.errors import AudiotokError, SpecMismatchError
from audiotok.spec import TokenSpec
from audiotok.store import StoreWriter, TokenStore

SEM = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, weights_sha256="ab")
ACU = TokenSpec("acoustic", "codec", 24000, 75.0, 4, 1024, weights_sha256="cd")


def _codes(k, t, seed):
    r = np.random.default_rng(seed).integers(0, 50 if k == 1 else 1024, size=(k, t))
    return r[0] if k == 1 else r


@pytest.mark.parametrize("spec", [SEM, ACU])
def test_round_trip(tmp_path, spec):
    k = spec.num_codebooks
    data = {f"spk/u{i}": _codes(k, 5 + 3 * i, i) for i in range(7)}
    w = StoreWriter(tmp_path / "s", spec, shard_size=3)
    for i, (uid, c) in enumerate(data.items()):
        w.add(uid, f"spk/u{i}.wav", 0.1 * i, c if k > 1 else c.reshape(1, -1))
    w.close()
    ts = audiotok.open_tokens(str(tmp_path / "s"))
    assert ts.spec == spec and len(ts) == 7 and len(ts.manifest.shards) == 3
    got = dict(ts)
    assert got.keys() == data.keys()
    for uid, c in data.items():
        np.testing.assert_array_equal(got[uid], c)
    np.testing.assert_array_equal(ts.get("spk/u4")["codes"], data["spk/u4"])
    assert ts.manifest.num_frames == sum(c.shape[-1] for c in data.values())


def test_shards_are_plain_parquet(tmp_path):
    w = StoreWriter(tmp_path, ACU)
    w.add("a", "a.wav", 1.0, _codes(4, 9, 0))
    w.close()
    table = pq.read_table(next(tmp_path.glob("shard-*.parquet")))
    assert table.column_names == ["id", "path", "duration_s", "num_frames", "codes"]
    row = table.to_pylist()[0]
    assert len(row["codes"]) == 4 and len(row["codes"][0]) == 9 and row["num_frames"] == 9
    typ = table.schema.field("codes").type
    assert typ.value_type.value_type == pa.uint16()


def test_refuses_tokens_of_another_tokenizer(tmp_path):
    StoreWriter(tmp_path, SEM).close()
    other = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=9, weights_sha256="ab")
    with pytest.raises(SpecMismatchError, match="layer"):
        StoreWriter(tmp_path, other)
    StoreWriter(tmp_path, other, overwrite=True).close()
    assert TokenStore(tmp_path).spec.layer == 9


def test_resume_ignores_what_a_killed_run_left(tmp_path):
    w = StoreWriter(tmp_path, SEM, shard_size=2)
    for i in range(5):
        w.add(f"u{i}", f"u{i}.wav", 1.0, _codes(1, 4, i).reshape(1, -1))
    # killed here: 2 shards committed, one row buffered; plus debris of a half-written shard
    (tmp_path / ".shard-000002.parquet.x.tmp").write_bytes(b"half")
    (tmp_path / "shard-000009.parquet").write_bytes(b"renamed but never committed")
    w2 = StoreWriter(tmp_path, SEM)
    assert w2.done_ids == {"u0", "u1", "u2", "u3"}
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "shard-000009.parquet").exists()
    with pytest.raises(AudiotokError, match="already in the store"):
        w2.add("u1", "u1.wav", 1.0, _codes(1, 4, 1).reshape(1, -1))
    w2.add("u4", "u4.wav", 1.0, _codes(1, 4, 4).reshape(1, -1))
    w2.close()
    assert sorted(TokenStore(tmp_path).ids()) == ["u0", "u1", "u2", "u3", "u4"]


def test_errors_are_kept_and_cleared_when_a_file_succeeds(tmp_path):
    w = StoreWriter(tmp_path, SEM)
    w.add_error("bad", "bad.wav", "empty file (0 bytes)")
    w.add_error("late", "late.wav", "corrupt")
    w.close()
    w = StoreWriter(tmp_path, SEM)
    w.add("late", "late.wav", 1.0, _codes(1, 3, 0).reshape(1, -1))
    m = w.close()
    assert [e["id"] for e in m.errors] == ["bad"]


def test_output_must_be_a_store_or_empty(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(AudiotokError, match="not a directory"):
        StoreWriter(tmp_path / "f", SEM)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    with pytest.raises(AudiotokError, match="not empty"):
        StoreWriter(tmp_path / "d", SEM)


def test_readable_by_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    w = StoreWriter(tmp_path, SEM)
    w.add("a", "a.wav", 1.0, _codes(1, 6, 0).reshape(1, -1))
    w.close()
    df = pd.read_parquet(tmp_path / "shard-000000.parquet")
    assert df["id"].tolist() == ["a"] and len(df["codes"][0]) == 6


def test_overwrite_removes_only_the_store(tmp_path):
    w = StoreWriter(tmp_path, SEM)
    w.add("a", "a.wav", 1.0, _codes(1, 3, 0).reshape(1, -1))
    w.close()
    (tmp_path / "README.txt").write_text("the user's")
    StoreWriter(tmp_path, ACU, overwrite=True).close()
    assert (tmp_path / "README.txt").read_text() == "the user's"
    assert TokenStore(tmp_path).spec == ACU and len(TokenStore(tmp_path)) == 0
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "manifest.json").write_text('{"extractor": "mfcc", "layers": [null]}')
    with pytest.raises(AudiotokError, match="not an audiotok token store"):
        StoreWriter(tmp_path / "f", SEM, overwrite=True)
    assert (tmp_path / "f" / "manifest.json").exists()
