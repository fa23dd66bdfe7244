"""Evaluation as library code (issue #20, point 2): ``audiotok.eval`` returns the numbers
``audiotok eval`` prints, and a corrupt file of an eval corpus is reported and skipped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audio_fixtures import speechlike

METRICS = "mel_distance,si_sdr,stft_distance"


def _run(argv, capsys):
    from audiotok.cli.app import main

    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _same(lib: dict, cli: dict) -> None:
    """Same files, scores and means (JSON round trip of the library's floats)."""
    assert json.loads(json.dumps(lib["summary"])) == cli["summary"]
    assert [f["id"] for f in lib["files"]] == [f["id"] for f in cli["files"]]
    for a, b in zip(lib["files"], cli["files"], strict=True):
        for m in METRICS.split(","):
            assert a[m] == pytest.approx(b[m], rel=1e-12, abs=1e-12)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_recon_returns_what_the_cli_prints(tmp_path, capsys):
    from audiotok import eval as E

    ref, dec = tmp_path / "ref", tmp_path / "dec"
    ref.mkdir(), dec.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        x = speechlike(0.8, 16000, seed=i)
        sf.write(ref / f"u{i}.wav", x, 16000)
        sf.write(dec / f"u{i}.wav", x + 0.02 * rng.standard_normal(x.size).astype("f4"), 16000)
    sf.write(ref / "only_ref.wav", speechlike(0.3, 16000), 16000)
    result = E.recon(ref, dec, metrics=METRICS, bitrate_bps=6000)
    assert result.complete and result.summary["si_sdr"]["n"] == 2
    assert result.unpaired == {"reference_only": ["only_ref"], "decoded_only": []}
    assert 15 < result.mean("si_sdr") < 40 and result.summary["bitrate_kbps"] == 6
    rc, out, err = _run(["eval", "recon", ref, dec, "--metrics", METRICS, "--json",
                         "--bitrate", "6"], capsys)  # fmt: skip
    assert rc == 0, err
    assert "only_ref" in err
    _same(result.to_dict(), json.loads(out))


@pytest.mark.slow  # a DAC encode and decode, twice, and a worker process (about 8 s)
def test_roundtrip_skips_a_corrupt_file_and_matches_the_cli(tmp_path, capsys):
    from audiotok import eval as E
    from audiotok.factory import tokenizer_for
    from audiotok.pipeline import RunOptions

    sys.path.insert(0, str(Path(__file__).parents[1] / "codecs"))
    from test_weights_cli import _dac_checkpoint

    w = tmp_path / "weights_16khz.pth"
    _dac_checkpoint(w)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(2):
        sf.write(corpus / f"u{i}.wav", speechlike(0.6 + 0.2 * i, 16000, seed=i), 16000)
    (corpus / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" * 4)
    tok = tokenizer_for(None, "dac-16khz", weights=str(w), n_codebooks=2, device="cpu")
    failed = []
    result = E.roundtrip(corpus, tok, tmp_path / "work", metrics=METRICS,
                         options=RunOptions(num_workers=1),
                         on_error=lambda item, why: failed.append(item.id))  # fmt: skip
    assert failed == ["broken"]
    assert [e["id"] for e in result.encode_errors] == ["broken"]
    assert [f.id for f in result.files] == ["u0", "u1"] and not result.failed
    assert not result.complete and result.summary["si_sdr"]["n"] == 2
    assert result.summary["bitrate_kbps"] == 1.0  # 2 codebooks x 50 Hz x 10 bits
    assert sorted(p.name for p in (tmp_path / "work" / "decoded").iterdir()) == [
        "u0.wav",
        "u1.wav",
    ]
    rc, out, err = _run(["eval", "roundtrip", corpus, "--model", "dac-16khz", "--weights", w,
                         "--n-codebooks", "2", "--device", "cpu", "--metrics", METRICS,
                         "--num-workers", "0", "--json"], capsys)  # fmt: skip
    assert rc == 1  # a file could not be encoded
    assert "broken.wav" in err and "could not be encoded" in err
    doc = json.loads(out)
    assert [e["id"] for e in doc["encode_errors"]] == ["broken"]
    _same(result.to_dict(), doc)


@pytest.mark.slow  # two spawned workers import torch (30 s on this loaded 2-core machine)
def test_pairs_scored_in_worker_processes_equal_the_serial_scores(tmp_path):
    from audiotok.metrics.recon import pair_dirs, score_files

    ref, dec = tmp_path / "ref", tmp_path / "dec"
    ref.mkdir(), dec.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        x = speechlike(0.4, 16000, seed=i)
        sf.write(ref / f"u{i}.wav", x, 16000)
        sf.write(dec / f"u{i}.wav", x + 0.05 * rng.standard_normal(x.size).astype("f4"), 16000)
    (dec / "u3.wav").write_bytes(b"not audio")  # unreadable: an error of that file
    sf.write(ref / "u3.wav", speechlike(0.4, 16000), 16000)
    pairing = pair_dirs(ref, dec)
    seen = []
    serial = score_files(pairing, ("mel_distance", "si_sdr"))
    pooled = score_files(pairing, ("mel_distance", "si_sdr"), on_file=seen.append,
                         num_workers=2, chunk=1)  # fmt: skip
    assert [f.to_dict() for f in pooled] == [f.to_dict() for f in serial]
    assert [f.id for f in seen] == ["u0", "u1", "u2", "u3"]
    assert "audio" in pooled[3].errors and pooled[0].scores["si_sdr"] > 5
