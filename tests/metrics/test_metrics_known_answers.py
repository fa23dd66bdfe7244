"""Metrics against answers known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from audiotok.metrics import MetricError
from audiotok.metrics.perceptual import pesq_wb, stoi
from audiotok.metrics.signal import SI_SDR_CAP_DB, mel_distance, si_sdr, stft_distance


def _speechlike(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 40 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(h * phase) / h for h in range(1, 10))
    env = np.clip(np.sin(2 * np.pi * 3 * t), 0, 1)
    return (0.3 * voiced * env + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def test_si_sdr_of_a_scaled_copy_is_capped_huge():
    x = _speechlike(1.0)
    assert si_sdr(x, 0.3 * x) >= 100
    assert si_sdr(x, x) == SI_SDR_CAP_DB


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_si_sdr_of_white_noise_at_known_snr(snr_db):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(160000)
    noise = rng.standard_normal(x.size)
    noise *= np.sqrt((x @ x) / (noise @ noise) / 10 ** (snr_db / 10))
    assert si_sdr(x, x + noise) == pytest.approx(snr_db, abs=0.1)


def test_delayed_signal():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(16000)
    delayed = np.concatenate([np.zeros(8), x[:-8]])
    assert si_sdr(x, delayed) < -10  # white noise decorrelates after one sample
    assert 0 < mel_distance(x, delayed, 16000) < 0.2  # magnitudes barely move
    assert stft_distance(x, delayed) > 0


def test_identical_signals_have_zero_distances():
    x = _speechlike(1.0)
    assert mel_distance(x, x, 16000) == 0.0
    assert stft_distance(x, x) == 0.0


def test_silent_reference_is_an_error_not_a_score():
    z = np.zeros(16000, np.float32)
    x = _speechlike(1.0)
    for fn in (si_sdr, stft_distance, pesq_wb, stoi):
        with pytest.raises(MetricError):
            fn(z, x)


def test_pesq_and_stoi_of_identical_speech_are_near_max():
    x = _speechlike(2.0)
    assert pesq_wb(x, x) > 4.5
    assert stoi(x, x) > 0.99
    degraded = x + 0.3 * np.random.default_rng(3).standard_normal(x.size).astype(np.float32)
    assert pesq_wb(x, degraded) < 2.5
    assert stoi(x, degraded) < stoi(x, x)


def test_pesq_failure_on_silence_is_a_metric_error():
    with pytest.raises(MetricError, match="NoUtterances"):
        pesq_wb(np.zeros(32000), np.zeros(32000))


def test_length_mismatch_is_an_error():
    with pytest.raises(MetricError, match="length"):
        si_sdr(np.ones(10), np.ones(11))
