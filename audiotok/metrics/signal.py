"""Signal metrics: log-mel distance, multi-resolution STFT distance, SI-SDR.

All take mono float arrays at one sample rate, already trimmed to one length.

- ``mel_distance``: mean absolute difference of log10 mel magnitudes (80 mels, 1024-point
  FFT, hop 256, magnitudes clamped at 1e-5), the form of DAC's mel reconstruction loss
  (``MelSpectrogramLoss``: log10, ``clamp_eps`` 1e-5, ``pow`` 1.0) at one resolution.
- ``stft_distance``: the multi-resolution STFT loss of Parallel WaveGAN (Yamamoto et al.,
  2020, arXiv:1910.11480): spectral convergence + mean |log magnitude difference|,
  averaged over (FFT, hop, window) = (1024, 120, 600), (2048, 240, 1200), (512, 50, 240).
- ``si_sdr``: scale-invariant SDR (Le Roux et al., 2019, arXiv:1811.02508) with both
  signals made zero-mean; capped at 200 dB (identical or scaled copies) so it stays finite.
"""

from __future__ import annotations

import numpy as np

from audiotok.metrics import MetricError

SI_SDR_CAP_DB = 200.0
STFT_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))


def _check(ref: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    deg = np.asarray(deg, dtype=np.float64).reshape(-1)
    if ref.shape != deg.shape:
        raise MetricError(f"signals differ in length ({ref.size} vs {deg.size} samples)")
    if ref.size == 0:
        raise MetricError("empty signal")
    return ref, deg


def si_sdr(ref: np.ndarray, deg: np.ndarray) -> float:
    ref, deg = _check(ref, deg)
    ref = ref - ref.mean()
    deg = deg - deg.mean()
    energy = float(ref @ ref)
    if energy == 0.0:
        raise MetricError("SI-SDR is undefined for a silent reference")
    target = (float(deg @ ref) / energy) * ref
    noise = deg - target
    t, n = float(target @ target), float(noise @ noise)
    if n == 0.0 or (t > 0 and 10 * np.log10(t / n) > SI_SDR_CAP_DB):
        return SI_SDR_CAP_DB
    if t == 0.0:
        raise MetricError("SI-SDR is undefined: the decoded signal is orthogonal or silent")
    return float(10 * np.log10(t / n))


def _stft_mag(x: np.ndarray, n_fft: int, hop: int, win: int):
    import torch

    t = torch.from_numpy(x).float()
    window = torch.hann_window(win)
    spec = torch.stft(t, n_fft, hop, win, window, center=True, return_complex=True)
    return spec.abs().clamp_min(1e-7)


def stft_distance(ref: np.ndarray, deg: np.ndarray) -> float:
    import torch

    ref, deg = _check(ref, deg)
    total = 0.0
    for n_fft, hop, win in STFT_RESOLUTIONS:
        r, d = _stft_mag(ref, n_fft, hop, win), _stft_mag(deg, n_fft, hop, win)
        norm = torch.linalg.norm(r)
        if float(norm) <= 1e-7 * r.numel() ** 0.5:
            raise MetricError("STFT distance is undefined for a silent reference")
        sc = torch.linalg.norm(r - d) / norm
        mag = (r.log() - d.log()).abs().mean()
        total += float(sc + mag)
    return total / len(STFT_RESOLUTIONS)


def log_mel(x: np.ndarray, sample_rate: int, n_mels: int = 80):
    import torch

    from audiotok.spectral import MelSpectrogram

    mel = MelSpectrogram(sample_rate, n_fft=1024, hop_length=256, n_mels=n_mels, power=1.0)
    return mel(torch.from_numpy(np.asarray(x, dtype=np.float32))).clamp_min(1e-5).log10()


def mel_distance(ref: np.ndarray, deg: np.ndarray, sample_rate: int) -> float:
    ref, deg = _check(ref, deg)
    return float((log_mel(ref, sample_rate) - log_mel(deg, sample_rate)).abs().mean())
