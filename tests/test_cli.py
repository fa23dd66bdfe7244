"""The command line: exit codes, one-line errors, resume after a kill, EnCodec round trip."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import audiotok
from audiotok.cli.app import main

from audio_fixtures import BAD, VALID

PY = sys.executable


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def cli(*args, env=None, **kw):
    return subprocess.run(
        [PY, "-m", "audiotok", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,
    )


def test_help_and_import_do_not_import_torch():
    code = (
        "import sys, audiotok, audiotok.cli.app, audiotok.kmeans; "
        "print('torch' in sys.modules, 'faiss' in sys.modules)"
    )
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["False", "False"], r.stderr
    r = cli("--help")
    assert r.returncode == 0 and "encode" in r.stdout and "decode" in r.stdout


def test_encode_and_info(small_corpus, tmp_path, capsys):
    code, out, err = run(
        ["encode", small_corpus, "-o", tmp_path / "t", "--num-workers", "0", "-q"], capsys
    )
    assert code == 0 and "wrote 6 utterances" in out and str(tmp_path / "t") in out
    code, out, _ = run(["info", tmp_path / "t"], capsys)
    assert code == 0 and "mfcc-km100" in out and "utterances  6" in out and "errors      0" in out
    # rerun: nothing to do, nothing duplicated
    code, out, _ = run(
        ["encode", small_corpus, "-o", tmp_path / "t", "--num-workers", "0", "-q"], capsys
    )
    assert code == 0 and "wrote 0 utterances" in out and "6 were already there" in out
    assert len(audiotok.open_tokens(str(tmp_path / "t"))) == 6


def test_bad_corpus_exit_code_and_stderr(bad_corpus, tmp_path, capsys):
    code, out, err = run(
        ["encode", bad_corpus, "-o", tmp_path / "t", "--num-workers", "0", "-q"], capsys
    )
    assert code == 1
    for name in BAD:
        assert str(next(bad_corpus.glob(f"{name}.*"))) in err.replace("\n", "")
    assert f"{len(BAD)} failed" in out
    m = json.loads((tmp_path / "t" / ".manifest.json").read_text())
    assert m["num_utterances"] == len(VALID) and {e["id"] for e in m["errors"]} == BAD
    code, _, err = run(
        ["encode", bad_corpus, "-o", tmp_path / "s", "--strict", "-q", "--num-workers", "0"], capsys
    )
    assert code == 2 and "--strict" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["encode", "/nonexistent/corpus", "-o", "{tmp}/o"], "does not exist"),
        (["encode", "{corpus}", "-o", "{tmp}/afile"], "is not a folder"),
        (["encode", "{corpus}", "-o", "{tmp}/o", "--kind", "lexical"], "unknown --kind"),
        (["encode", "{corpus}", "-o", "{tmp}/o", "--model", "hubert-tiny-nope"], "unknown model"),
        (["info", "{tmp}"], "not a token store"),
    ],
)
def test_usage_errors_are_one_line(small_corpus, tmp_path, args, message):
    (tmp_path / "afile").write_text("x")
    argv = [a.format(tmp=tmp_path, corpus=small_corpus) for a in args]
    r = cli(*argv)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_store(tmp_path, make_wav):
    for i in range(40):
        make_wav(f"c/s{i % 3}/u{i:02d}.wav", 1.5 + (i % 7) * 0.2, 16000, seed=i)
    corpus = tmp_path / "c"
    common = ["--num-workers", "0", "--shard-size", "1", "--batch-seconds", "2", "-q"]
    p = subprocess.Popen(
        [PY, "-m", "audiotok", "encode", str(corpus), "-o", str(tmp_path / "k"), *common],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    manifest = tmp_path / "k" / ".manifest.json"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if len(json.loads(manifest.read_text())["shards"]) >= 3:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done_at_kill = json.loads(manifest.read_text())["num_utterances"]
    assert 3 <= done_at_kill < 40, "the kill must land mid-run"
    r = cli("encode", corpus, "-o", tmp_path / "k", *common)
    assert r.returncode == 0 and f"{done_at_kill} were already there" in r.stdout
    r = cli("encode", corpus, "-o", tmp_path / "full", *common)
    assert r.returncode == 0
    resumed = dict(audiotok.open_tokens(str(tmp_path / "k")))
    full = dict(audiotok.open_tokens(str(tmp_path / "full")))
    assert len(audiotok.open_tokens(str(tmp_path / "k")).ids()) == 40  # no duplicates
    assert resumed.keys() == full.keys()
    for k in full:
        np.testing.assert_array_equal(resumed[k], full[k])
    assert not list((tmp_path / "k").glob("*.tmp"))


def _random_encodec(path: Path) -> Path:
    from encodec import EncodecModel

    from audiotok.codecs.encodec import randomize_codebooks

    torch.manual_seed(3)
    # untrained encodec codebooks are zeros (every frame -> code 0): fill them first
    model = randomize_codebooks(EncodecModel.encodec_model_24khz(pretrained=False), seed=3)
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.slow
def test_encodec_encode_decode_through_the_cli(small_corpus, tmp_path, capsys):
    w = _random_encodec(tmp_path / "random_encodec.th")
    files = [small_corpus / "a" / "u1.wav", small_corpus / "b" / "u5.wav"]
    code, out, err = run(
        [
            "encode",
            *files,
            "-o",
            tmp_path / "t",
            "--kind",
            "acoustic",
            "--model",
            "encodec-24khz",
            "--weights",
            w,
            "--bandwidth",
            "3",
            "-q",
            "--num-workers",
            "0",
        ],
        capsys,
    )
    assert code == 0, err
    ts = audiotok.open_tokens(str(tmp_path / "t"))
    assert (ts.spec.num_codebooks, ts.spec.codebook_size, ts.spec.frame_rate) == (4, 1024, 75.0)
    tok = audiotok.load("encodec-24khz", weights=str(w), bandwidth=3)
    for uid, codes in ts:
        data, sr = sf.read(next(small_corpus.glob(f"*/{uid}.wav")), dtype="float32")
        ref = tok.encode(data, sr).numpy()
        assert codes.shape == ref.shape == (4, int(np.ceil(len(data) * 24000 / sr / 320)))
        np.testing.assert_array_equal(codes, ref)
        assert all(len(np.unique(row)) > 5 for row in codes)  # varied codes, not a constant
    code, out, err = run(["decode", tmp_path / "t", "-o", tmp_path / "wavs"], capsys)
    assert code == 0, err
    for uid in ("u1", "u5"):
        d = sf.info(tmp_path / "wavs" / f"{uid}.wav")
        src = sf.info(next(small_corpus.glob(f"*/{uid}.wav")))
        assert d.samplerate == 24000 and abs(d.duration - src.duration) < 1e-3
    code, _, _ = run(["decode", tmp_path / "t", "--id", "u5", "-o", tmp_path / "one.wav"], capsys)
    assert code == 0 and sf.info(tmp_path / "one.wav").samplerate == 24000


def test_encodec_bandwidth_selects_a_prefix(tmp_path):
    w = _random_encodec(tmp_path / "r.th")
    x = np.random.default_rng(0).standard_normal(24000).astype(np.float32) * 0.1
    full = audiotok.load("encodec-24khz", weights=str(w), bandwidth=24).encode(x, 24000)
    for bw, k in [(1.5, 2), (3, 4), (6, 8), (12, 16)]:
        c = audiotok.load("encodec-24khz", weights=str(w), bandwidth=bw).encode(x, 24000)
        assert c.shape[0] == k and torch.equal(c, full[:k])
    assert all(len(torch.unique(row)) > 5 for row in full)  # varied codes, not a constant


@pytest.mark.slow
def test_missing_weights_fail_before_any_work(small_corpus, tmp_path):
    home = tmp_path / "home"
    r = cli(
        "encode",
        small_corpus,
        "-o",
        tmp_path / "t",
        "--kind",
        "acoustic",
        "--model",
        "encodec-24khz",
        env={"AUDIOTOK_HOME": str(home)},
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "encodec_24khz-d7cc33bc.th" in r.stderr
    assert "https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th" in r.stderr
    assert str(home / "encodec-24khz" / "encodec_24khz-d7cc33bc.th") in r.stderr
    assert not (tmp_path / "t").exists()
    # a file at the expected place that is not the published one fails its checksum
    dest = home / "encodec-24khz" / "encodec_24khz-d7cc33bc.th"
    dest.parent.mkdir(parents=True)
    _random_encodec(dest)
    r = cli(
        "encode",
        small_corpus,
        "-o",
        tmp_path / "t",
        "--kind",
        "acoustic",
        env={"AUDIOTOK_HOME": str(home)},
    )
    assert r.returncode == 2 and "sha256" in r.stderr and "d7cc33bc" in r.stderr


def test_download_checks_the_sha256(tmp_path, monkeypatch):
    """The real download code, against a file:// URL (tests never touch the network)."""
    import hashlib

    from audiotok import weights
    from audiotok.errors import ChecksumError
    from audiotok.registry import ModelEntry, WeightFile

    src = tmp_path / "w.bin"
    src.write_bytes(b"weights" * 100)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    good = WeightFile("w.bin", url=src.as_uri(), sha256=digest)
    entry = ModelEntry("toy", "acoustic", "x:y", files=(good,))
    path = weights.download(entry, good)
    assert path.read_bytes() == src.read_bytes() and weights.resolve(entry, good)[1] == digest
    bad = WeightFile("w2.bin", url=src.as_uri(), sha256="0" * 64)
    with pytest.raises(ChecksumError):
        weights.download(ModelEntry("toy2", "acoustic", "x:y", files=(bad,)), bad)
    assert not list((tmp_path / "home" / "toy2").glob("*"))
