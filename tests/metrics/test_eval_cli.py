"""audiotok eval recon / roundtrip on files the tests write."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch


def _tone(seconds, sr, f, seed=0):
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 2 * t)
    return (
        0.3 * np.sin(2 * np.pi * f * t * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))) * env
        + 0.01 * rng.standard_normal(t.size)
    ).astype(np.float32)


def _run(argv, capsys):
    from audiotok.cli.app import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture
def dirs(tmp_path):
    ref, dec = tmp_path / "ref", tmp_path / "dec"
    for i in range(2):
        x = _tone(1.5, 16000, 200 + 70 * i, seed=i)
        (ref / "spk").mkdir(parents=True, exist_ok=True)
        (dec / "spk").mkdir(parents=True, exist_ok=True)
        sf.write(ref / "spk" / f"u{i}.wav", x, 16000)
        # decoded at another rate, with noise: must be resampled and paired by id
        import torchaudio.functional as AF

        y = AF.resample(torch.from_numpy(x), 16000, 24000).numpy()
        y = y + 0.01 * np.random.default_rng(9).standard_normal(y.size).astype(np.float32)
        sf.write(dec / "spk" / f"u{i}.flac", y, 24000)
    sf.write(ref / "only_ref.wav", _tone(0.5, 16000, 300), 16000)
    sf.write(ref / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(dec / "silent.wav", np.zeros(16000, np.float32), 16000)
    return ref, dec


def test_recon_json_scores_pairs_lists_unpaired_and_errors(dirs, tmp_path, capsys):
    ref, dec = dirs
    rc, out, err = _run(
        [
            "eval",
            "recon",
            str(ref),
            str(dec),
            "--json",
            "--bitrate",
            "6",
            "--plot",
            str(tmp_path / "png"),
        ],
        capsys,
    )
    assert rc == 1  # the silent pair cannot be scored by PESQ and friends
    doc = json.loads(out)
    files = {f["id"]: f for f in doc["files"]}
    assert set(files) == {"spk/u0", "spk/u1", "silent"}
    assert doc["unpaired"]["reference_only"] == ["only_ref"]
    assert "only_ref" in err and "unpaired" in err
    good = files["spk/u0"]
    assert good["si_sdr"] > 15 and good["pesq_wb"] > 2.5 and good["stoi"] > 0.7
    assert "pesq_wb" in files["silent"]["errors"] and "pesq_wb" not in files["silent"]
    assert doc["summary"]["pesq_wb"]["n"] == 2 and doc["summary"]["bitrate_kbps"] == 6
    assert (tmp_path / "png" / "spk" / "u0.png").stat().st_size > 1000


def test_recon_table(dirs, capsys):
    ref, dec = dirs
    rc, out, err = _run(
        ["eval", "recon", str(ref), str(dec), "--metrics", "si_sdr,mel_distance"], capsys
    )
    assert rc == 1 and "SI-SDR" in out and "mean" in out and "PESQ" not in out, err
    assert "silent: si_sdr" in err


def test_roundtrip_with_a_dac_checkpoint(tmp_path, capsys):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "codecs"))
    from test_weights_cli import _dac_checkpoint

    w = tmp_path / "weights_16khz.pth"
    _dac_checkpoint(w)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(2):
        sf.write(corpus / f"u{i}.wav", _tone(1.0, 16000, 220 + 50 * i, seed=i), 16000)
    rc, out, err = _run(
        [
            "eval",
            "roundtrip",
            str(corpus),
            "--model",
            "dac-16khz",
            "--weights",
            str(w),
            "--n-codebooks",
            "2",
            "--json",
            "--device",
            "cpu",
            "--metrics",
            "mel_distance,si_sdr,stft_distance",
        ],
        capsys,
    )
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["summary"]["bitrate_kbps"] == 1.0  # 2 codebooks x 50 Hz x 10 bits
    assert {f["id"] for f in doc["files"]} == {"u0", "u1"}
    assert doc["spec"]["name"] == "dac-16khz"
