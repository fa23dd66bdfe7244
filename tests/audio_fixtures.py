"""Audio the tests make themselves: speech-like signals and the names of the bad-input corpus.

A module of its own (not conftest.py): test folders have conftest files of their own, and
``from conftest import ...`` would pick whichever was imported first.
"""

from __future__ import annotations

import numpy as np


def speechlike(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Voiced segments (harmonics of a gliding f0, formant-ish weighting) and noise bursts."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = 110 + 60 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t) + rng.uniform(0, 80)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(h * phase) / h * (1 + np.cos(h / 3)) for h in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * rng.uniform(2, 5) * t + rng.uniform(0, 6)), 0, 1)
    noise = rng.standard_normal(n) * (1 - env) * 0.3
    x = 0.25 * voiced * env + noise
    return (0.5 * x / (np.abs(x).max() + 1e-9)).astype(np.float32)


BAD = {"truncated", "empty", "zero_length", "text", "nan"}
VALID = {"ok", "silent", "six_channels", "rate_8k", "rate_48k", "float", "lossless"}
