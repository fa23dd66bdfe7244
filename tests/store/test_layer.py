"""The store layer: lock, permissions, damaged records and shards, format versions, adopt,
and the readers that open a store folder directly."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from audiotok.errors import AudiotokError, CorruptStoreError, SpecMismatchError, StoreLockedError
from audiotok.spec import TokenSpec
from audiotok.store import TokenStore, TokenWriter
from audiotok.store import record as R

SEM = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, semantic_codebooks=(0,))
OTHER = TokenSpec("semantic", "y-km50", 16000, 50.0, 1, 50, layer=6, semantic_codebooks=(0,))


def _store(d, n=6, shard_size=2, spec=SEM, prefix="u", root=None):
    w = TokenWriter(d, spec, shard_size=shard_size, audio_root=root)
    for i in range(n):
        w.add(f"{prefix}{i}", f"{prefix}{i}.wav", 1.0, np.arange(i + 2) % 50)
    w.close()
    return d


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path):
    w = TokenWriter(tmp_path, SEM)
    with pytest.raises(StoreLockedError, match=f"pid {os.getpid()} on host"):
        TokenWriter(tmp_path, SEM)
    code = (
        "import sys; from audiotok.store import TokenWriter; from audiotok.spec import TokenSpec;"
        "TokenWriter(sys.argv[1], TokenSpec('semantic','x-km50',16000,50.0,1,50,layer=6))"
    )
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0 and f"pid {os.getpid()}" in r.stderr
    w.close()
    TokenWriter(tmp_path, SEM).close()  # released: the next writer gets it


def test_lock_dies_with_its_process(tmp_path):
    code = (
        "import os, sys; from audiotok.store import TokenWriter; from audiotok.spec import "
        "TokenSpec; TokenWriter(sys.argv[1], TokenSpec('semantic','x-km50',16000,50.0,1,50,"
        "layer=6)); os._exit(0)"  # no close: as if killed
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    TokenWriter(tmp_path, SEM).close()


def test_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        _store(tmp_path / "s")
    finally:
        os.umask(old)
    for p in (tmp_path / "s").rglob("*"):
        assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p.name


@pytest.mark.parametrize(
    "content, why",
    [
        (b'{"format": "audiotok-tokens", "spec": {', "not valid JSON"),
        (b"[1, 2, 3]", "a JSON list"),
        (b'{"format": "audiotok-tokens", "shards": []}', "'spec' is missing"),
        (b"", "not valid JSON"),
        (b'{"format": "audiotok-tokens", "spec": {}, "shards": [1]}', "'shards' is not a list"),
    ],
)
def test_a_damaged_record_is_one_clear_error_and_overwrite_recovers(tmp_path, content, why):
    d = _store(tmp_path / "s")
    (d / R.RECORD).write_bytes(content)
    with pytest.raises(CorruptStoreError, match=why) as e:
        TokenStore(d)
    assert "--overwrite" in str(e.value)
    with pytest.raises(CorruptStoreError):
        TokenWriter(d, SEM)
    (d / "mine.txt").write_text("kept")
    _store(d, n=1) if False else TokenWriter(d, SEM, overwrite=True).close()
    assert len(TokenStore(d)) == 0 and (d / "mine.txt").read_text() == "kept"
    assert not list(d.glob("shard-*"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_broken_shards_are_found_and_resume_reencodes_exactly_them(tmp_path, damage):
    d = _store(tmp_path / "s", n=6, shard_size=2)
    shard = d / "shard-000001.parquet"
    if damage == "truncate":
        shard.write_bytes(shard.read_bytes()[:50])
    elif damage == "flip":
        b = bytearray(shard.read_bytes())
        b[len(b) // 2] ^= 0x01
        shard.write_bytes(bytes(b))
    else:
        shard.unlink()
    broken = TokenStore(d).verify()
    assert [e["file"] for e, _ in broken] == ["shard-000001.parquet"]
    warnings = []
    w = TokenWriter(d, SEM, warn=warnings.append)
    assert w.repaired == ["shard-000001.parquet"] and "encoded again" in warnings[0]
    assert w.done_ids == {"u0", "u1", "u4", "u5"}  # u2, u3 were in the broken shard
    for i in (2, 3):
        w.add(f"u{i}", f"u{i}.wav", 1.0, np.arange(i + 2) % 50)
    w.close()
    ts = TokenStore(d)
    assert sorted(ts.ids()) == [f"u{i}" for i in range(6)] and not ts.verify()


def test_a_newer_format_is_not_rewritten_and_unknown_fields_are_kept(tmp_path):
    d = _store(tmp_path / "s")
    rec = json.loads((d / R.RECORD).read_text())
    rec["future_field"] = {"keep": "me"}
    (d / R.RECORD).write_text(json.dumps(rec))
    TokenWriter(d, SEM).close()
    assert json.loads((d / R.RECORD).read_text())["future_field"] == {"keep": "me"}
    rec["format_version"] = R.FORMAT_VERSION + 1
    (d / R.RECORD).write_text(json.dumps(rec))
    with pytest.raises(AudiotokError, match="newer audiotok"):
        TokenWriter(d, SEM)
    assert len(TokenStore(d)) == 6  # still readable


def test_a_format_1_store_is_read_and_upgraded(tmp_path):
    d = _store(tmp_path / "s", n=3, shard_size=10)
    rec = json.loads((d / R.RECORD).read_text())
    legacy = {
        "format": "audiotok-tokens",
        "format_version": 1,
        "spec": rec["spec"],
        "shards": [{k: v for k, v in s.items() if k != "files"} for s in rec["shards"]],
        "errors": [],
        "run": {},
    }
    (d / R.RECORD).unlink()
    (d / "manifest.json").write_text(json.dumps(legacy))
    assert sorted(TokenStore(d).ids()) == ["u0", "u1", "u2"]
    w = TokenWriter(d, SEM)
    w.add("u3", "u3.wav", 1.0, np.arange(3))
    w.close()
    assert not (d / "manifest.json").exists()
    assert len(TokenStore(d)) == 4 and not TokenStore(d).verify()


def test_adopt_merges_disjoint_stores_and_refuses_overlap_and_other_specs(tmp_path):
    a = _store(tmp_path / "a", n=3, prefix="a", root=tmp_path / "corpus")
    b = _store(tmp_path / "b", n=2, prefix="b", root=tmp_path / "other")
    w = TokenWriter(tmp_path / "m", SEM, audio_root=tmp_path / "corpus")
    assert w.adopt(a) == 3 and w.adopt(b) == 2
    with pytest.raises(AudiotokError, match="already in"):
        w.adopt(a)
    w.close()
    m = TokenStore(tmp_path / "m")
    assert sorted(m.ids()) == ["a0", "a1", "a2", "b0", "b1"] and not m.verify()
    np.testing.assert_array_equal(m.get("b1"), TokenStore(b).get("b1"))
    assert m.audio_path("b1") == tmp_path / "other" / "b1.wav"  # re-rooted
    assert m.audio_path("a1") == tmp_path / "corpus" / "a1.wav"
    c = _store(tmp_path / "c", n=1, spec=OTHER, prefix="c")
    w = TokenWriter(tmp_path / "m", SEM)
    with pytest.raises(SpecMismatchError):
        w.adopt(c)
    w.close()


def test_readers_open_the_store_folder_directly(tmp_path):
    d = _store(tmp_path / "s", n=5, shard_size=2)
    pd = pytest.importorskip("pandas")
    df = pd.read_parquet(d)
    assert sorted(df["id"]) == [f"u{i}" for i in range(5)] and len(df["codes"][0]) >= 2
    import pyarrow.dataset as ds

    assert ds.dataset(d).count_rows() == 5
    duckdb = pytest.importorskip("duckdb")
    n = duckdb.sql(f"select count(*), sum(num_frames) from '{d}/*.parquet'").fetchall()[0]
    assert n == (5, sum(i + 2 for i in range(5)))
    datasets = pytest.importorskip("datasets")
    dd = datasets.load_dataset("parquet", data_dir=str(d), cache_dir=str(tmp_path / "hf"))
    assert dd["train"].num_rows == 5
