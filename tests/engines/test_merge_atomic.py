"""`audiotok merge` is all or nothing (#25): a refused merge leaves no store, and a difference
of tokenizers is named before ids are compared."""

from __future__ import annotations

import numpy as np
import pytest

import audiotok
from audiotok.errors import AudiotokError, CorruptStoreError, SpecMismatchError
from audiotok.pipeline.merge import merge_stores
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter

SPEC = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, weights_sha256="ab")
OTHER = TokenSpec("semantic", "y-km50", 16000, 50.0, 1, 50, layer=6, weights_sha256="ab")


def _store(path, ids, spec=SPEC, shard_size=2):
    w = TokenWriter(path, spec, shard_size=shard_size)
    for i in ids:
        w.add(f"u{i}", f"u{i}.wav", 0.1, np.full((1, 3 + i), i % 50))
    w.close()
    return path


def _left(tmp_path):
    """What a merge into tmp_path/m left behind: the folder and hidden temporary folders."""
    return sorted(p.name for p in tmp_path.iterdir() if p.name == "m" or ".merge-" in p.name)


def test_a_good_merge_leaves_one_store_and_no_temporary_folder(tmp_path):
    a, b = _store(tmp_path / "a", range(0, 5)), _store(tmp_path / "b", range(5, 9))
    s = merge_stores([a, b], tmp_path / "m")
    assert s.utterances == 9 and _left(tmp_path) == ["m"]
    ts = audiotok.open_tokens(str(tmp_path / "m"))
    assert sorted(ts.ids()) == sorted(f"u{i}" for i in range(9))
    np.testing.assert_array_equal(ts.get("u7"), np.full((1, 10), 7))
    assert not (tmp_path / "m" / ".lock").exists()


def test_an_overlap_in_the_last_input_leaves_no_store(tmp_path):
    ins = [_store(tmp_path / "a", range(0, 5)), _store(tmp_path / "b", range(5, 9)),
           _store(tmp_path / "c", range(8, 12))]  # fmt: skip
    with pytest.raises(AudiotokError, match="'u8'.*overlap.*nothing was merged"):
        merge_stores(ins, tmp_path / "m")
    assert _left(tmp_path) == []


def test_an_empty_output_folder_stays_empty_after_a_refusal(tmp_path):
    (tmp_path / "m").mkdir()
    ins = [_store(tmp_path / "a", range(0, 3)), _store(tmp_path / "b", range(2, 4))]
    with pytest.raises(AudiotokError, match="overlap"):
        merge_stores(ins, tmp_path / "m")
    assert _left(tmp_path) == ["m"] and not any((tmp_path / "m").iterdir())
    merge_stores(ins[:1], tmp_path / "m")  # an empty folder takes a new store
    assert len(audiotok.open_tokens(str(tmp_path / "m"))) == 3


def test_other_tokenizers_are_named_before_ids(tmp_path):
    a = _store(tmp_path / "a", range(0, 3))
    b = _store(tmp_path / "b", range(0, 3), OTHER)  # the same ids
    with pytest.raises(SpecMismatchError, match="different tokenizers.*name: 'x-km50' != 'y-km50'"):
        merge_stores([a, b], tmp_path / "m")
    assert _left(tmp_path) == []


def test_a_damaged_input_shard_leaves_no_store(tmp_path):
    a, b = _store(tmp_path / "a", range(0, 4)), _store(tmp_path / "b", range(4, 8))
    p = b / "shard-000001.parquet"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(CorruptStoreError, match="shard-000001.parquet.*nothing was merged"):
        merge_stores([a, b], tmp_path / "m")
    assert _left(tmp_path) == []


def test_a_refused_resume_leaves_the_output_as_it_was(tmp_path):
    a, b = _store(tmp_path / "a", range(0, 4)), _store(tmp_path / "b", range(3, 6))
    merge_stores([a], tmp_path / "m")
    before = sorted(p.name for p in (tmp_path / "m").rglob("*"))
    rec = (tmp_path / "m" / ".manifest.json").read_bytes()
    with pytest.raises(AudiotokError, match="'u3'.*already in"):
        merge_stores([a, b], tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").rglob("*")) == before
    assert (tmp_path / "m" / ".manifest.json").read_bytes() == rec


def test_a_killed_merge_leaves_a_temporary_folder_the_next_one_removes(tmp_path):
    a = _store(tmp_path / "a", range(0, 3))
    stale = tmp_path / ".m.merge-0badf00d.tmp"
    stale.mkdir()
    (stale / "shard-000000.parquet").write_bytes(b"half")
    merge_stores([a], tmp_path / "m")
    assert _left(tmp_path) == ["m"]


def test_cli_merge_refusal_exit_2_and_no_store(tmp_path, capsys):
    from audiotok.cli.app import run

    ins = [_store(tmp_path / n, r) for n, r in (("a", range(0, 3)), ("b", range(2, 5)))]
    assert run(["merge", *map(str, ins), "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "overlap" in err
    assert _left(tmp_path) == []
