"""audiotok stream encode | decode: WAV or raw PCM on stdin to codes as lines or binary frames,
codes back to PCM; the codes equal the library's offline encode of the same samples; a real
shell pipe through sox; non-streaming models refused in one line."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import audiotok
from audiotok.cli.app import main

from stream_tiny import TINY_MIMI, wav

PY = sys.executable


@pytest.fixture(scope="module")
def mimi_folder(tmp_path_factory):
    from audiotok.codecs.mimi import architecture

    folder = tmp_path_factory.mktemp("mimi")
    architecture(TINY_MIMI, seed=2).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def mimi(mimi_folder):
    return audiotok.load("mimi", weights=str(mimi_folder))


def wav_bytes(x: np.ndarray, sr: int = 24000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def run(argv, data: bytes, monkeypatch, capsys) -> tuple[int, bytes, str]:
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out))
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    return e.value.code, out.getvalue(), capsys.readouterr().err


def errors(err: str) -> list[str]:
    """The CLI's error lines (transformers' weight-loading progress bar shares stderr)."""
    return [line for line in err.splitlines() if line.startswith("error")]


def pcm16(x: np.ndarray) -> torch.Tensor:
    """What a 16-bit WAV of x holds, as the encoder reads it."""
    return torch.from_numpy(np.round(x * 32768).clip(-32768, 32767) / 32768).float()


def test_wav_on_stdin_gives_the_offline_codes_as_lines(mimi, mimi_folder, monkeypatch, capsys):
    x = wav(0.9, seed=4).numpy()
    args = ["stream", "encode", "-", "--model", "mimi", "--weights", mimi_folder]
    rc, out, err = run(args, wav_bytes(x), monkeypatch, capsys)
    assert rc == 0, err
    codes = torch.tensor([[int(v) for v in line.split()] for line in out.decode().splitlines()]).T
    assert torch.equal(codes, mimi.encode(pcm16(x), 24000))
    rc, out_bin, _ = run([*args, "--format", "binary"], wav_bytes(x), monkeypatch, capsys)
    frames = np.frombuffer(out_bin, "<u2").reshape(-1, mimi.num_codebooks).T
    assert rc == 0 and np.array_equal(frames, codes.numpy())


def test_raw_pcm_at_another_rate_is_resampled(mimi, mimi_folder, monkeypatch, capsys):
    x = (wav(0.8, seed=1).numpy()[::3] * 32767).astype("<i2")  # 8 kHz raw s16le
    args = ["stream", "encode", "--model", "mimi", "--weights", mimi_folder, "--rate", 8000]
    rc, out, err = run(args, x.tobytes(), monkeypatch, capsys)
    assert rc == 0, err
    assert len(out.decode().splitlines()) == -(-len(x) * 3 // 1920)  # 0.8 s at 12.5 Hz
    rc, _, err = run(args[:-2], x.tobytes(), monkeypatch, capsys)  # raw without --rate
    assert rc == 2 and errors(err) == [errors(err)[0]] and "--rate" in errors(err)[0]


def test_decode_writes_the_offline_audio_as_pcm(mimi, mimi_folder, monkeypatch, capsys):
    codes = mimi.encode(wav(0.7, seed=2), 24000)
    text = "".join(" ".join(map(str, row)) + "\n" for row in codes.T.tolist()).encode()
    args = ["stream", "decode", "--model", "mimi", "--weights", mimi_folder]
    rc, out, err = run([*args, "--output-format", "f32le"], text, monkeypatch, capsys)
    assert rc == 0, err
    got = torch.from_numpy(np.frombuffer(out, "<f4").copy())
    ref = mimi.decode(codes)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-4 * float(ref.abs().max()))
    rc, out, err = run(args, b"1 2 3\n", monkeypatch, capsys)
    assert rc == 2 and "has 3 codes" in err and len(errors(err)) == 1


def test_models_that_do_not_stream_are_refused_in_one_line(monkeypatch, capsys):
    rc, _, err = run(["stream", "encode", "--model", "mfcc-km100"], b"", monkeypatch, capsys)
    assert rc == 2 and len(errors(err)) == 1 and "cannot stream" in errors(err)[0]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sox") is None, reason="needs sox (CI installs it)")
def test_a_shell_pipe_through_sox(mimi, mimi_folder, tmp_path):
    x = wav(1.2, seed=7).numpy()
    sf.write(tmp_path / "in.wav", x, 24000, subtype="PCM_16")
    au = f"{PY} -m audiotok stream"
    w = f"--model mimi --weights {mimi_folder}"
    cmd = (
        f"sox {tmp_path}/in.wav -t wav - | {au} encode - {w} | tee {tmp_path}/codes.txt | "
        f"{au} decode {w} --output-format f32le | "
        f"sox -t raw -r 24000 -e floating-point -b 32 -c 1 - {tmp_path}/out.wav"
    )
    r = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "codes.txt").read_text().splitlines()
    codes = torch.tensor([[int(v) for v in line.split()] for line in lines]).T
    assert torch.equal(codes, mimi.encode(pcm16(x), 24000))
    out, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    ref = mimi.decode(codes).numpy()
    assert sr == 24000 and out.shape == ref.shape
    # sox clips to [-1, 1] (the random model's output is louder)
    assert np.abs(out - np.clip(ref, -1, 1)).max() <= 1e-4


def test_models_list_shows_which_models_stream(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    rc, out, _ = run(["models", "list"], b"", monkeypatch, capsys)
    rows = [line.split("\t") for line in out.decode().splitlines()]  # tab-separated in a pipe
    header = next(r for r in rows if r and r[0] == "name")
    col = header.index("stream")
    streams = {r[0]: r[col] for r in rows if len(r) == len(header) and r[0] != "name"}
    assert rc == 0 and streams["mimi"] == streams["encodec-24khz"] == "yes"
    assert streams["dac-16khz"] == streams["encodec-48khz"] == "-"
