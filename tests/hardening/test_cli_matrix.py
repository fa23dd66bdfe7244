"""The bad-input matrix of issue 8, through the real command line (``python -m audiotok``).

Each case builds its own corpus (numpy/soundfile files, sox MP3s, link loops, manifests) and
asserts the exit code, that stderr has no traceback (one line where the run stops), and the
store's contents read back with ``audiotok.open_tokens``. Codes in the store are compared
with ``Tokenizer.encode`` on the same file read by hand: the library and the CLI agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audiotok
from audiotok.errors import AudiotokError

from audio_fixtures import BAD, speechlike

PY = sys.executable
ASSETS = Path(audiotok.__file__).parent / "assets"


def run(*args: object, wrapper: str | None = None, env: dict | None = None):
    """``python -m audiotok ARGS`` (or the real main() after ``wrapper`` code has run)."""
    argv = [PY, "-m", "audiotok"] if wrapper is None else [PY, "-c", wrapper]
    return subprocess.run(
        [*argv, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def encode(*inputs: object, out: Path, extra: tuple = (), wrapper: str | None = None):
    return run("encode", *inputs, "-o", out, "--num-workers", "0", "-q", *extra, wrapper=wrapper)


def lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def store_codes(out: Path) -> dict[str, np.ndarray]:
    store = audiotok.open_tokens(str(out))
    return {i: np.atleast_2d(np.asarray(store.get(i))) for i in store.ids()}


@pytest.fixture(scope="module")
def tok():
    return audiotok.load("mfcc-km100")


def library_codes(tok, path: Path) -> np.ndarray:
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    return np.atleast_2d(tok.encode(data, sr).numpy())  # soundfile's [T, C] as it comes


def sox_mp3(path: Path, x: np.ndarray, sr: int) -> Path:
    if shutil.which("sox") is None:
        pytest.skip("sox is not installed: apt-get install sox libsox-fmt-mp3")
    wav = path.with_suffix(".src.wav")
    sf.write(wav, x, sr)
    r = subprocess.run(["sox", str(wav), str(path)], capture_output=True, text=True)
    wav.unlink()
    if r.returncode != 0:
        pytest.skip(f"this sox cannot write MP3 ({r.stderr.strip()[:80]}): libsox-fmt-mp3")
    return path


def test_sox_mp3s_stereo_and_a_folder_loop_encode_as_the_library_does(tmp_path, tok):
    spk = tmp_path / "corpus" / "spk"
    spk.mkdir(parents=True)
    sox_mp3(spk / "a22.mp3", speechlike(1.3, 22050, seed=1), 22050)
    sox_mp3(spk / "b44.mp3", speechlike(0.9, 44100, seed=2), 44100)
    stereo = np.stack([speechlike(1.1, 22050, seed=3), speechlike(1.1, 22050, seed=4)], axis=1)
    sf.write(spk / "c.wav", stereo, 22050)
    (spk / "up").symlink_to("..")  # followed once, not until path limits
    r = encode(tmp_path / "corpus", out=tmp_path / "t")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "wrote 3 utterances" in r.stdout
    codes = store_codes(tmp_path / "t")
    assert sorted(codes) == ["spk/a22", "spk/b44", "spk/c"]
    for name in ("a22.mp3", "b44.mp3", "c.wav"):
        ref = library_codes(tok, spk / name)
        np.testing.assert_array_equal(codes[f"spk/{Path(name).stem}"], ref)


UNREADABLE = """
import os, sys
closed = os.environ["CLOSED_DIR"]
real = os.scandir
def scandir(path="."):
    if os.path.abspath(path) == closed:  # what EACCES looks like to a user who is not root
        raise PermissionError(13, "Permission denied", str(path))
    return real(path)
os.scandir = scandir
from audiotok.cli.app import main
main(sys.argv[1:])
"""


def test_link_loops_broken_links_and_unreadable_folders_are_reported_exit_1(tmp_path):
    """Real loops and broken links; the unreadable folder is simulated (root reads all)."""
    c = tmp_path / "c"
    for sub in ("open", "closed"):
        (c / sub).mkdir(parents=True)
        sf.write(c / sub / "u.wav", speechlike(0.5, 16000), 16000)
    sf.write(c / "ok.wav", speechlike(0.6, 16000), 16000)
    (c / "x.wav").symlink_to(c / "y.wav")
    (c / "y.wav").symlink_to(c / "x.wav")
    (c / "gone.wav").symlink_to(c / "missing.wav")
    closed = c / "closed"
    r = run(
        "encode", c, "-o", tmp_path / "t", "--num-workers", "0", "-q",
        wrapper=UNREADABLE, env={"CLOSED_DIR": str(closed)},
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    for path, words in [
        (c / "x.wav", "loop"),
        (c / "y.wav", "loop"),
        (c / "gone.wav", "broken"),
        (closed, "permission denied"),
    ]:
        (line,) = [ln for ln in lines(r.stderr) if f"{path}:" in ln]
        assert words in line
    assert sorted(store_codes(tmp_path / "t")) == ["ok", "open/u"]


def test_manifests_numeric_ids_and_an_id_column_first(tmp_path):
    for i in range(3):
        sf.write(tmp_path / f"w{i}.wav", speechlike(0.5, 16000, seed=i), 16000)
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "w0.wav", "id": 17}) + "\n")
    (tmp_path / "h.tsv").write_text("w1.wav\t18\n")  # headerless: the second column is the id
    (tmp_path / "f.tsv").write_text("id\tpath\nfirst\tw2.wav\n")
    r = encode(tmp_path / "m.jsonl", tmp_path / "h.tsv", tmp_path / "f.tsv", out=tmp_path / "t")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(store_codes(tmp_path / "t")) == ["17", "18", "first"]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("m.tsv", b"path\tid\nw.wav\tcaf\xe9\n", "m.tsv:2: not UTF-8"),
        ("m.jsonl", b'{"path": "w.wav", "id": "../../evil"}\n', "m.jsonl:1: the id"),
    ],
)
def test_a_bad_manifest_is_one_line_exit_2_and_writes_nothing(tmp_path, name, content, words):
    sf.write(tmp_path / "w.wav", speechlike(0.5, 16000), 16000)
    (tmp_path / name).write_bytes(content)
    r = encode(tmp_path / name, out=tmp_path / "t")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = lines(r.stderr)
    assert line.startswith("error: ") and words in line
    assert not (tmp_path / "t").exists()


def test_strict_prints_the_failure_once(bad_corpus, tmp_path):
    r = encode(bad_corpus, out=tmp_path / "t", extra=("--strict",))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    bad_paths = [str(p) for p in bad_corpus.iterdir() if p.stem in BAD]
    mentioned = [p for p in bad_paths if p in r.stderr]
    assert len(mentioned) == 1 and r.stderr.count(mentioned[0]) == 1, r.stderr


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_an_output_that_cannot_be_a_folder_is_one_line(tmp_path, where):
    sf.write(tmp_path / "w.wav", speechlike(0.5, 16000), 16000)
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "sub" if where == "under_a_file" else Path("/proc/audiotok-out")
    r = encode(tmp_path / "w.wav", out=out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = lines(r.stderr)
    assert line.startswith("error: ") and str(out) in line


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return r.returncode == 0


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_the_store_resumes_to_the_same_codes(tmp_path, tok):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "32k"):
        pytest.skip("a real full disk needs root and a 32 kB tmpfs mount (ENOSPC is also "
                    "covered by tests/hardening/test_cli_exits.py)")  # fmt: skip
    try:
        corpus = tmp_path / "c"
        corpus.mkdir()
        for i in range(6):
            sf.write(corpus / f"u{i}.wav", speechlike(0.4 + 0.1 * i, 16000, seed=i), 16000)
        out = disk / "t"
        r = encode(corpus, out=out, extra=("--shard-size", "1"))
        assert r.returncode == 2, r.stdout + r.stderr
        assert "Traceback" not in r.stderr
        (line,) = [ln for ln in lines(r.stderr) if ln.startswith("error")]
        assert "No space left on device" in line and "resume" in line
        try:
            committed = len(audiotok.open_tokens(str(out)))
        except AudiotokError:  # nothing committed before the disk filled
            committed = 0
        assert committed < 6
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        r = encode(corpus, out=out, extra=("--shard-size", "1"))
        assert r.returncode == 0, r.stderr
        assert f"wrote {6 - committed} utterances" in r.stdout  # resumed, not started again
        assert (f"; {committed} were already there" in r.stdout) == (committed > 0)
        codes = store_codes(out)
        assert sorted(codes) == [f"u{i}" for i in range(6)]
        for i in range(6):
            np.testing.assert_array_equal(codes[f"u{i}"], library_codes(tok, corpus / f"u{i}.wav"))
    finally:
        # lazy: the store's codes may still be memory-mapped by this process
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


NO_MATPLOTLIB = """
import sys
sys.modules["matplotlib"] = None  # as in an install without the [eval] extra
from audiotok.cli.app import main
main(sys.argv[1:])
"""


def test_kmeans_eval_plot_without_matplotlib_is_one_line(tmp_path):
    (tmp_path / "c").mkdir()
    sf.write(tmp_path / "c" / "u.wav", speechlike(0.8, 16000), 16000)
    png = tmp_path / "usage.png"
    r = run(
        "kmeans", "eval", ASSETS / "mfcc-km100.safetensors", tmp_path / "c", "--plot", png,
        wrapper=NO_MATPLOTLIB,
    )  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = [ln for ln in lines(r.stderr) if ln.startswith("error")]
    assert "matplotlib not installed: pip install 'audiotok[eval]'" in line
    assert not png.exists()
