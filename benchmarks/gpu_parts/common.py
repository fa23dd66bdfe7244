"""What every part of the GPU suite shares: the run context, sizes, figures, timers, audio.

A part is a list of :class:`Item`\\ s; each item measures one :class:`Figure` (or raises
:class:`Skip` saying why it cannot run here). Every figure is a rate in audio-seconds per
second for the path measured and for its baseline, measured in the same run, and their ratio.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FRAME_RATE_50HZ = 50.0  # HuBERT/WavLM frames per audio second: k-means frames -> audio time


@functools.cache
def tests_module(name: str, relpath: str) -> ModuleType:
    """A helper module of ``tests/`` (loaded once, by path: ``tests`` is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_tests_{name}", ROOT / "tests" / relpath)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Skip(Exception):
    """This item cannot run here; the message says why (a missing package, no GPU, memory)."""


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one run: :data:`FULL` on a GPU, :data:`SMOKE` (toy) on the CPU."""

    extract_files: int
    extract_seconds: tuple[float, float]  # utterance lengths, uniform in [lo, hi]
    s3m_config: dict[str, Any] | None  # transformers config overrides (None: real size)
    batch_seconds: float  # padded audio per batch (the CLI's --batch-seconds)
    pipeline_seconds: float  # audio in the end-to-end corpus
    pipeline_distinct: int  # distinct synthesized files; the rest are links to them
    pipeline_workers: int
    kmeans_n: int
    kmeans_dim: int
    kmeans_k: int
    kmeans_niter: int
    codec_files: int
    codec_seconds: tuple[float, float]
    codec_configs: dict[str, dict[str, Any]]  # registry name -> builder options
    decode_seconds: float  # audio decoded by each vocoder path
    vocoder_channels: int
    train_files: int
    train_file_seconds: float
    train_window: int  # steps per timing window (one warm-up window, then one timed)
    vocoder_train: dict[str, Any]
    hybrid_train: dict[str, Any]


FULL = Sizes(
    extract_files=300,
    extract_seconds=(2.0, 16.0),
    s3m_config=None,
    batch_seconds=60.0,
    pipeline_seconds=4 * 3600.0,
    pipeline_distinct=120,
    pipeline_workers=max(1, min(4, (os.cpu_count() or 2) - 1)),  # the CLI's default
    kmeans_n=1_000_000,
    kmeans_dim=768,
    kmeans_k=2000,
    kmeans_niter=10,
    codec_files=100,
    codec_seconds=(1.0, 8.0),
    codec_configs={"encodec-24khz": {}, "dac-44khz": {}},
    decode_seconds=120.0,
    vocoder_channels=512,
    train_files=40,
    train_file_seconds=4.0,
    train_window=10,
    # dotted keys of the trainers' configs (audiotok.train.config.override)
    vocoder_train={"data.batch_size": 16},  # trainer defaults: HiFi-GAN V1, 0.56 s segments
    hybrid_train={"data.batch_size": 6, "data.segment_seconds": 3.0},  # SpeechTokenizer's
)
SMOKE = Sizes(
    extract_files=4,
    extract_seconds=(0.4, 1.2),
    s3m_config=tests_module("s3m_tiny", "extractors/s3m_tiny.py").TINY,  # the tests' tiny S3M
    batch_seconds=4.0,
    pipeline_seconds=8.0,
    pipeline_distinct=3,
    pipeline_workers=1,
    kmeans_n=3000,
    kmeans_dim=768,
    kmeans_k=16,
    kmeans_niter=2,
    codec_files=3,
    codec_seconds=(0.3, 0.6),
    codec_configs={
        "encodec-24khz": {"config": {"n_filters": 4}, "n_codebooks": 4},
        "dac-44khz": {"config": {"encoder_dim": 4, "decoder_dim": 16, "n_codebooks": 4}},
    },
    decode_seconds=1.0,
    vocoder_channels=32,
    train_files=6,
    train_file_seconds=1.2,
    train_window=1,
    vocoder_train={
        "data.batch_size": 2,
        "model": {
            "embedding_dim": 16,
            "upsample_initial_channel": 16,
            "resblock_kernel_sizes": (3,),
            "resblock_dilation_sizes": ((1,),),
            "duration_hidden_dim": 16,
        },
        "discriminators.width": 0.0625,
        "discriminators.names": ["mpd"],
    },
    hybrid_train={
        "data.batch_size": 2,
        "data.segment_seconds": 0.4,
        "model.n_codebooks": 2,
        "model.codebook_size": 16,
        "model.arch": {"n_filters": 2, "dimension": 16, "lstm_layers": 1, "kmeans_iters": 2},
        "discriminators.width": 0.0625,
        "discriminators.names": ["mpd"],
    },
)


@dataclass
class Context:
    device: str  # "cuda" or "cpu"
    smoke: bool
    tmp: Path
    sizes: Sizes
    dtype: str = "bf16"  # S3M compute dtype (autocast; GPUs only)
    seed: int = 0
    cache: dict[str, Any] = field(default_factory=dict)  # per-part shared setups

    def sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    def timed(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        """(wall seconds, result) of ``fn()``, the device's queued work included."""
        self.sync()
        t = time.perf_counter()
        out = fn()
        self.sync()
        return time.perf_counter() - t, out

    def shared(self, key: str, build: Callable[[], Any]) -> Any:
        """One setup for the items of a part (built on first use; a failure repeats)."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]


@dataclass
class Figure:
    """One measured line of the table. ``ratio`` is ours / baseline for speed-ups, and for
    efficiencies the baseline's time over ours (the share of the ideal that is reached)."""

    key: str
    part: str
    title: str
    status: str = "ok"  # ok | skipped | failed
    audio_s_per_s: float | None = None
    baseline: str = ""
    baseline_audio_s_per_s: float | None = None
    ratio: float | None = None
    ratio_kind: str = "speed-up"  # speed-up | efficiency
    target: float | None = None  # the ratio the project aims for
    extra: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    wall_s: float = 0.0
    toy: bool = False  # --smoke sizes: targets do not apply

    @property
    def met(self) -> bool | None:
        if self.toy or self.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target

    def check(self) -> None:
        """Raise ValueError unless every figure of an ``ok`` line is finite and positive."""
        for name in ("audio_s_per_s", "baseline_audio_s_per_s", "ratio"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} is {v!r}, not a finite positive number")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass(frozen=True)
class Item:
    key: str
    part: str
    title: str
    requires: tuple[str, ...]  # modules that must import (else: skipped, naming them)
    run: Callable[[Context], Figure]


def speechlike(seconds: float, sr: int, seed: int) -> Any:
    """The tests' speech-like signal (``tests/audio_fixtures.py``), float32 in [-0.5, 0.5]."""
    return tests_module("audio_fixtures", "audio_fixtures.py").speechlike(seconds, sr, seed)


def utterances(n: int, lengths: tuple[float, float], sr: int, seed: int) -> list[Any]:
    """``n`` speech-like waveforms with lengths uniform in ``lengths`` seconds."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [speechlike(float(rng.uniform(*lengths)), sr, seed + i) for i in range(n)]


def write_corpus(
    folder: Path,
    total_seconds: float,
    distinct: int,
    lengths: tuple[float, float],
    sr: int,
    rates: tuple[int, ...] = (),
    ext: str = "wav",
) -> float:
    """A corpus of ``total_seconds`` in ``folder``: ``distinct`` synthesized files (``ext``:
    wav or flac; file i at ``rates[i % len(rates)]`` Hz, default ``sr``), then links to them
    under other names until the total is reached (decode cost is per file read; the content
    does not matter for speed). Returns the audio seconds written."""
    from audiotok import audio

    folder.mkdir(parents=True, exist_ok=True)
    rates = rates or (sr,)
    waves = {r: utterances(distinct, lengths, r, seed=1) for r in set(rates)}
    total, i = 0.0, 0
    while total < total_seconds:
        j = i % distinct
        rate = rates[j % len(rates)]
        w = waves[rate][j]
        path = folder / f"u{i:06d}.{ext}"
        if i < distinct:
            audio.write(str(path), w, rate)
        else:
            path.symlink_to(folder / f"u{j:06d}.{ext}")
        total += len(w) / rate
        i += 1
    return total
