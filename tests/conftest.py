"""Fixtures: corpora the tests write (speech-like signals, odd formats and broken files)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio_fixtures import speechlike

os.environ.setdefault("AUDIOTOK_HOME", "/nonexistent-audiotok-home")  # tests never download


@pytest.fixture
def make_wav(tmp_path: Path):
    def _make(
        name: str,
        seconds: float = 1.0,
        sr: int = 16000,
        seed: int = 0,
        channels: int = 1,
        subtype: str = "PCM_16",
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        x = speechlike(seconds, sr, seed)
        data = (
            np.stack([x * (0.5 + 0.1 * c) for c in range(channels)], axis=1) if channels > 1 else x
        )
        sf.write(path, data, sr, subtype=subtype)
        return path

    return _make


@pytest.fixture
def small_corpus(tmp_path: Path, make_wav) -> Path:
    """Six valid files in two speaker folders, different lengths and rates."""
    for i, (spk, secs, sr) in enumerate(
        [
            ("a", 1.0, 16000),
            ("a", 1.7, 16000),
            ("a", 0.6, 22050),
            ("b", 2.3, 16000),
            ("b", 1.0, 8000),
            ("b", 3.1, 44100),
        ]
    ):
        make_wav(f"corpus/{spk}/u{i}.wav", secs, sr, seed=i)
    return tmp_path / "corpus"


@pytest.fixture
def bad_corpus(tmp_path: Path, make_wav) -> Path:
    """The issue's bad-input corpus: broken files beside valid but unusual ones."""
    root = tmp_path / "bad"
    make_wav("bad/ok.wav", 1.2, 16000, seed=1)
    good = (tmp_path / "bad" / "ok.wav").read_bytes()
    (root / "truncated.wav").write_bytes(good[: len(good) // 2])
    (root / "empty.wav").write_bytes(b"")
    sf.write(root / "zero_length.wav", np.zeros((0,), np.float32), 16000)
    (root / "text.wav").write_text("this is not audio\n" * 20)
    nan = speechlike(1.0, 16000, 3)
    nan[100:200] = np.nan
    sf.write(root / "nan.wav", nan, 16000, subtype="FLOAT")
    sf.write(root / "silent.wav", np.zeros(16000, np.float32), 16000)
    make_wav("bad/six_channels.wav", 1.0, 16000, seed=4, channels=6)
    make_wav("bad/rate_8k.wav", 1.0, 8000, seed=5)
    make_wav("bad/rate_48k.wav", 1.0, 48000, seed=6)
    make_wav("bad/float.wav", 1.0, 16000, seed=7, subtype="FLOAT")
    make_wav("bad/lossless.flac", 1.0, 16000, seed=8)
    return root


@pytest.fixture
def full_disk(tmp_path: Path):
    """A folder on a small tmpfs with no space left (a real full disk: libsndfile, torch's zip
    writer and pyarrow fail in C, where no monkeypatch reaches). Needs root and mount(2): the
    test is skipped, saying so, where the sandbox forbids mounting."""
    import subprocess

    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a tmpfs mount, which needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)  # fmt: skip
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()})")
    try:
        fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
