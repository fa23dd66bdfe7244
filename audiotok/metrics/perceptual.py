"""Perceptual metrics through their reference packages.

- ``pesq_wb``: wide-band PESQ (ITU-T P.862.2) from the ``pesq`` package, at 16 kHz (both
  signals resampled). ``pesq`` raises on inputs it cannot score (``NoUtterancesError`` for
  silence, too-short signals); that is a :class:`MetricError`, never a default. Codec-SUPERB
  returns PESQ 1.0 on any exception, which hides failures inside the means.
- ``stoi``: short-time objective intelligibility (Taal et al., 2011) from ``pystoi``, at
  16 kHz (pystoi resamples to 10 kHz internally). pystoi returns 1e-5 with a warning when too
  few frames are left after removing silent ones, and 0 for a silent reference; audiotok
  turns both into errors.
"""

from __future__ import annotations

import warnings

import numpy as np

from audiotok.metrics import MetricError

RATE = 16000


def to_16k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    from audiotok.audio import resample

    return resample(np.asarray(x, dtype=np.float32), sample_rate, RATE)


def pesq_wb(ref16: np.ndarray, deg16: np.ndarray) -> float:
    """Both signals at 16 kHz, equal length."""
    from pesq import pesq

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pesq divides silence by 0 first
            return float(
                pesq(RATE, np.asarray(ref16, np.float64), np.asarray(deg16, np.float64), "wb")
            )
    except Exception as e:  # noqa: BLE001 - pesq raises its own error types and C errors
        raise MetricError(f"PESQ failed: {type(e).__name__}: {str(e)[:120]}") from None


def stoi(ref16: np.ndarray, deg16: np.ndarray) -> float:
    from pystoi import stoi as _stoi

    if not np.any(np.asarray(ref16) != 0):
        raise MetricError("STOI is undefined for a silent reference (pystoi returns 0)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_stoi(np.asarray(ref16, np.float64), np.asarray(deg16, np.float64), RATE))
    for w in caught:
        if "Not enough STFT frames" in str(w.message):
            raise MetricError(
                "STOI failed: not enough non-silent frames (pystoi needs ~0.4 s of speech)"
            )
    return value
