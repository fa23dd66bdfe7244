"""Checksums are cached under AUDIOTOK_HOME only, never trusted for a published digest; offline
downloads are one line (issues 8 and 9)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audiotok import weights
from audiotok.errors import ChecksumError, MissingWeightsError
from audiotok.registry import ModelEntry, WeightFile

ASSETS = Path(weights.__file__).parent / "assets"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _files_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_digests_are_cached_under_the_home_not_beside_the_file(tmp_path, home):
    w = tmp_path / "mine" / "w.bin"
    w.parent.mkdir()
    w.write_bytes(b"weights" * 1000)
    digest = hashlib.sha256(w.read_bytes()).hexdigest()
    assert weights.sha256_file(w) == digest
    assert _files_beside(w) == ["w.bin"]
    records = list((home / "checksums").glob("*.json"))
    assert len(records) == 1
    rec = json.loads(records[0].read_text())
    assert rec["sha256"] == digest and rec["path"] == str(w.resolve())
    assert set(rec["key"]) == {"size", "mtime_ns", "ino", "dev"}
    # the cache is used while size, mtime and inode stay (proved by planting a digest)...
    records[0].write_text(json.dumps({**rec, "sha256": "f" * 64}))
    assert weights.sha256_file(w) == "f" * 64
    # ...and left when the file changes
    w.write_bytes(b"other weights" * 1000)
    assert weights.sha256_file(w) == hashlib.sha256(w.read_bytes()).hexdigest()


def test_a_published_digest_is_checked_against_the_bytes_not_the_cache(tmp_path, home):
    w = tmp_path / "model.bin"
    w.write_bytes(b"genuine")
    good = hashlib.sha256(b"genuine").hexdigest()
    wf = WeightFile("model.bin", sha256=good)
    assert weights.verify(w, wf) == good
    # same size, same mtime, other bytes: a cache keyed on size+mtime would pass it
    st = w.stat()
    w.write_bytes(b"tampere")
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ChecksumError):
        weights.verify(w, wf)


def test_loading_the_shipped_codebook_writes_nothing_in_the_package(home):
    import audiotok

    before = {p.name: p.stat().st_mtime_ns for p in ASSETS.iterdir()}
    audiotok.load("mfcc-km100")
    weights.sha256_file(ASSETS / "mfcc-km100.safetensors")
    after = {p.name: p.stat().st_mtime_ns for p in ASSETS.iterdir()}
    assert after == before and not [n for n in after if n.endswith(".sha256.json")]


def test_a_published_name_with_other_contents_says_how_to_use_own_weights(tmp_path, home):
    w = tmp_path / "encodec_24khz-d7cc33bc.th"
    w.write_bytes(b"my own fine-tuned weights")
    wf = WeightFile(w.name, url="https://example.org/x.th", sha256_prefix="d7cc33bc")
    entry = ModelEntry("toy", "acoustic", "x:y", files=(wf,))
    with pytest.raises(ChecksumError) as e:
        weights.resolve(entry, wf, override=w)
    msg = str(e.value)
    assert "download it again" in msg and "any other name" in msg and "--weights" in msg
    mine = tmp_path / "my-encodec.th"
    mine.write_bytes(w.read_bytes())
    path, digest = weights.resolve(entry, wf, override=mine)  # another name: used as given
    assert path == mine and digest == hashlib.sha256(mine.read_bytes()).hexdigest()


def test_download_without_network_is_one_line_naming_url_and_place(home):
    url = "http://127.0.0.1:9/weights/w.bin"  # the discard port: connection refused
    wf = WeightFile("w.bin", url=url, sha256="0" * 64)
    entry = ModelEntry("toy", "acoustic", "x:y", files=(wf,))
    with pytest.raises(MissingWeightsError) as e:
        weights.download(entry, wf, timeout=5)
    msg = str(e.value)
    assert url in msg and str(home / "toy" / "w.bin") in msg and "\n" not in msg
    assert list((home / "toy").iterdir()) == []  # no partial file left


def test_models_download_offline_through_the_cli(tmp_path):
    """The real CLI, with the registry entry's URL pointed at a port that refuses."""
    code = (
        "import dataclasses, sys\n"
        "from audiotok import registry\n"
        "e = registry.get('encodec-24khz')\n"
        "f = dataclasses.replace(e.files[0], url='http://127.0.0.1:9/encodec.th')\n"
        "registry._REGISTRY['encodec-24khz'] = dataclasses.replace(e, files=(f,))\n"
        "from audiotok.cli.app import main\n"
        "main(['models', 'download', 'encodec-24khz'])\n"
    )
    env = {**os.environ, "AUDIOTOK_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "http://127.0.0.1:9/encodec.th" in r.stderr
    assert str(tmp_path / "home" / "encodec-24khz") in r.stderr


def test_a_file_without_a_published_digest_is_trusted_on_first_use_then_checked(tmp_path, home):
    """Downloaded (a file:// URL stands for the server): the first copy's sha256 is recorded
    under AUDIOTOK_HOME/checksums/first-use; a later copy with other bytes is refused."""
    remote = tmp_path / "server" / "w.bin"
    remote.parent.mkdir()
    remote.write_bytes(b"first release")
    wf = WeightFile("w.bin", url=remote.as_uri())
    entry = ModelEntry("toy", "acoustic", "x:y", files=(wf,))
    assert weights.recorded_digest(wf) == ""
    dest = weights.download(entry, wf, progress=False)
    first = hashlib.sha256(b"first release").hexdigest()
    assert weights.recorded_digest(wf) == first
    assert weights.first_use_record(wf).parent == home / "checksums" / "first-use"
    assert weights.resolve(entry, wf) == (dest, first)

    remote.write_bytes(b"swapped upstream")  # the owner (or someone) replaced the file
    dest.unlink()
    with pytest.raises(ChecksumError) as e:
        weights.download(entry, wf, progress=False)
    msg = str(e.value)
    swapped = hashlib.sha256(b"swapped upstream").hexdigest()
    assert first in msg and swapped in msg and "\n" not in msg
    assert "audiotok models download toy" in msg and str(weights.first_use_record(wf)) in msg
    assert not dest.exists() and list(dest.parent.iterdir()) == []  # nothing half-kept

    dest.write_bytes(b"swapped upstream")  # put in place by hand: checked just the same
    with pytest.raises(ChecksumError, match=swapped):
        weights.resolve(entry, wf)


def test_a_users_own_file_with_the_registered_name_records_nothing(tmp_path, home):
    wf = WeightFile("ckpt.pt", url="https://example.org/ckpt.pt")
    entry = ModelEntry("toy", "hybrid", "x:y", files=(wf,))
    mine = tmp_path / "ckpt.pt"
    mine.write_bytes(b"fine-tuned")
    assert weights.resolve(entry, wf, override=mine)[1] == hashlib.sha256(b"fine-tuned").hexdigest()
    assert weights.recorded_digest(wf) == ""
    # a record that is not about this file (another URL) is not used
    record = weights.first_use_record(wf)
    record.parent.mkdir(parents=True)
    record.write_text(
        json.dumps({"url": "https://elsewhere", "filename": "ckpt.pt", "sha256": "0" * 64})
    )
    assert weights.recorded_digest(wf) == ""


def test_models_list_shows_revision_and_check_per_model(tmp_path, capsys, monkeypatch):
    from audiotok import registry
    from audiotok.cli.app import main

    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "400")
    wf = registry.get("dac-16khz").files[0]
    record = weights.first_use_record(wf)
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"url": wf.url, "filename": wf.filename, "sha256": "a" * 64}))
    with pytest.raises(SystemExit) as e:
        main(["models", "list"])
    assert e.value.code == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    for entry in registry.entries():
        row = rows[entry.name]
        if entry.shipped:
            assert "shipped" in row
            continue
        assert all(f.pin in row for f in entry.files), row
        assert any(s in row for s in ("sha256", "first-use")), row
    assert "commit 89091b3e46" in rows["mimi"] and "sha256" in rows["mimi"]
    assert "release 0.0.5" in rows["dac-16khz"] and "first-use: recorded" in rows["dac-16khz"]
    assert "first-use: recorded" not in rows["dac-24khz"] and "first-use" in rows["dac-24khz"]
    assert "branch main (unpinned)" in rows["xlsr-300m"]


def test_an_own_hugging_face_folder_is_used_as_given(tmp_path, home):
    """model.safetensors is the name of every HF folder: a user's own Mimi (or any model in
    that layout) is not checked against the released file's digest."""
    wf = WeightFile("model.safetensors", url="https://example.org/m", sha256="0" * 64)
    entry = ModelEntry("toy", "hybrid", "x:y", files=(wf,))
    mine = tmp_path / "mine" / "model.safetensors"
    mine.parent.mkdir()
    mine.write_bytes(b"my fine-tune")
    assert (
        weights.resolve(entry, wf, override=mine)[1] == hashlib.sha256(b"my fine-tune").hexdigest()
    )
    cached = weights.expected_path(entry, wf)  # the cache copy is the released file: checked
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"my fine-tune")
    with pytest.raises(ChecksumError):
        weights.resolve(entry, wf)
