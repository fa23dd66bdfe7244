"""Paths from data stay inside their folder (issue #19, point 3): the rule
(audiotok.safe_paths) and the writers export, merge and the evaluation report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from audiotok.errors import AudiotokError
from audiotok.safe_paths import child, problem


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("/etc/x", "absolute"),
        ("a\x00b", "NUL"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("./a", "'.'"),
        ("", "empty"),
        ("a\\..\\b", "backslash"),
        ("é" * 200, "bytes"),  # 400 bytes in UTF-8
        (7, "not text"),
    ],
)
def test_names_that_are_not_a_file_inside_the_folder_are_refused(tmp_path, name, why):
    assert why in problem(name)
    with pytest.raises(AudiotokError, match=why) as e:
        child(tmp_path, name)  # type: ignore[arg-type]
    assert "\n" not in str(e.value)


def test_plain_ids_with_sub_folders_are_files_inside(tmp_path):
    assert child(tmp_path, "spk1/utt 01", suffix=".wav") == tmp_path / "spk1" / "utt 01.wav"
    assert child(tmp_path, "..hidden-but-fine") == tmp_path / "..hidden-but-fine"
    (tmp_path / "target.wav").write_text("mine")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "u.wav").symlink_to(tmp_path / "target.wav")
    with pytest.raises(AudiotokError, match="symbolic link"):
        child(tmp_path / "out", "u", suffix=".wav")  # a link planted where the file goes


def _store(d: Path, ids=("u0", "u1")) -> Path:
    from audiotok.spec import TokenSpec
    from audiotok.store import TokenWriter

    spec = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, semantic_codebooks=(0,))
    w = TokenWriter(d, spec, shard_size=1)
    for i, utt in enumerate(ids):
        w.add(utt, f"{utt}.wav", 1.0, np.arange(i + 3) % 50)
    w.close()
    return d


def test_export_refuses_an_output_folder_that_is_a_link(tmp_path):
    from audiotok.feed.exporters import export

    store = _store(tmp_path / "tokens")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    (tmp_path / "out").symlink_to(elsewhere)
    for overwrite in (False, True):
        with pytest.raises(AudiotokError, match="symbolic link") as e:
            export(store, tmp_path / "out", "nanogpt", overwrite=overwrite)
        assert str(elsewhere) in str(e.value)
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]
    summary = export(store, tmp_path / "real", "nanogpt")  # ids become contents, not names
    assert summary.out == tmp_path / "real" and (tmp_path / "real" / "export.json").is_file()


@pytest.mark.parametrize("bad", ["../../escape.parquet", "/tmp/escape.parquet", "codes//x.npy"])
def test_merge_refuses_shard_names_that_leave_the_input(tmp_path, bad):
    from audiotok.pipeline.merge import merge_stores
    from audiotok.store import record as R

    a = _store(tmp_path / "a", ids=("a0",))
    b = _store(tmp_path / "b", ids=("b0",))
    rec = R.read(b)
    assert rec is not None
    rec.shards[0]["files"] = [rec.shards[0]["file"], bad]
    R.write(b, rec)
    with pytest.raises(AudiotokError) as e:
        merge_stores([a, b], tmp_path / "merged")
    msg = str(e.value)
    assert str(b) in msg and repr(bad) in msg and "\n" not in msg
    assert not (tmp_path / "escape.parquet").exists() and not (tmp_path / "merged").exists()


def test_merge_refuses_an_output_folder_that_is_a_link(tmp_path):
    from audiotok.pipeline.merge import merge_stores

    a = _store(tmp_path / "a", ids=("a0",))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "merged").symlink_to(elsewhere)
    with pytest.raises(AudiotokError, match="symbolic link"):
        merge_stores([a], tmp_path / "merged")
    assert list(elsewhere.iterdir()) == []


def test_eval_report_ids_become_slugs_and_links_are_refused(tmp_path):
    from audiotok.report import write_report

    sr = 16000
    sig = (np.sin(np.arange(sr // 4) / 9.0) * 0.1).astype(np.float32)
    files = [{"id": "../../escape", "dec_wav_path": (sig, sr), "snr": 1.0}]
    out = write_report(tmp_path / "rep", title="t", files=files, sample_metric="snr")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all((tmp_path / "rep") in p.parents for p in written)
    assert not list(tmp_path.glob("escape*"))
    assert Path(out).is_file() or Path(out).is_dir()

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "img").mkdir(parents=True)
    (elsewhere / "img" / "keep.png").write_bytes(b"mine")
    import shutil

    shutil.rmtree(tmp_path / "rep" / "img")
    (tmp_path / "rep" / "img").symlink_to(elsewhere / "img")  # a previous report, tampered
    with pytest.raises(AudiotokError, match="symbolic link"):
        write_report(tmp_path / "rep", title="t", files=files, sample_metric="snr")
    assert (elsewhere / "img" / "keep.png").read_bytes() == b"mine"
    (tmp_path / "rep2").symlink_to(elsewhere)
    with pytest.raises(AudiotokError, match="symbolic link"):
        write_report(tmp_path / "rep2", title="t", files=files)
    assert json.dumps(sorted(p.name for p in elsewhere.iterdir())) == '["img"]'


def test_a_manifest_id_too_long_for_a_file_name_is_refused_when_listed(tmp_path, make_wav):
    from audiotok.corpus import scan_with_problems
    from audiotok.errors import ManifestError

    wav = make_wav("a.wav", 0.2)
    manifest = tmp_path / "m.tsv"
    manifest.write_text(f"{wav}\tspk/{'x' * 250}\n")
    with pytest.raises(ManifestError, match="longer than 247 bytes"):
        scan_with_problems([manifest])
    manifest.write_text(f"{wav}\tspk/{'x' * 247}\n")
    items = scan_with_problems([manifest])[0]
    assert [i.id for i in items] == [f"spk/{'x' * 247}"]
