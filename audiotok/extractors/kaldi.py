"""Kaldi-style filter banks and MFCCs in plain torch (``snip_edges``, no dither).

The numbers of ``torchaudio.compliance.kaldi.fbank`` / ``mfcc`` with their defaults (tested
against them within 1e-4), computed without torchaudio's compiled library. Facts from Kaldi's
``feat/feature-window.cc``, ``feature-mfcc.cc`` and ``mel-computations.cc`` as torchaudio
documents them: frames of ``window`` samples every ``shift``, count
``1 + (T - window) // shift``; per frame the DC offset is removed, a pre-emphasis of 0.97
(the first sample is its own predecessor), the "povey" window (a symmetric Hann window to the
power 0.85), zero padding to the next power of two, power spectrum; triangular filters
equally spaced on ``1127 ln(1 + f / 700)`` between 20 Hz and Nyquist (the Nyquist bin gets no
weight); log with float32 epsilon as the floor; MFCC is the orthonormal DCT-II of the log
filter bank (the zeroth coefficient weighted ``sqrt(1 / bins)``) kept to ``num_ceps``, then the
sinusoidal lifter ``1 + L/2 sin(pi i / L)``. Deltas are Kaldi/torchaudio's
``compute_deltas``: ``sum_k k (x[t+k] - x[t-k]) / (2 sum_k k^2)`` over ``k = 1..2`` with the
edges repeated.
"""

from __future__ import annotations

import math

import torch

PREEMPHASIS = 0.97
LOW_FREQ = 20.0


def _mel(f: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log(1.0 + f / 700.0)


def _frames(wav: torch.Tensor, window: int, shift: int) -> torch.Tensor:
    n = 1 + (wav.shape[-1] - window) // shift
    return wav.as_strided((n, window), (shift * wav.stride(-1), wav.stride(-1)))


def kaldi_mel_banks(num_bins: int, padded: int, sample_rate: int) -> torch.Tensor:
    """``[num_bins, padded // 2 + 1]`` filters (the last column, Nyquist, is zero)."""
    nyquist = 0.5 * sample_rate
    lo, hi = (1127.0 * math.log(1.0 + f / 700.0) for f in (LOW_FREQ, nyquist))
    delta = (hi - lo) / (num_bins + 1)
    b = torch.arange(num_bins).unsqueeze(1)
    left, center, right = lo + b * delta, lo + (b + 1.0) * delta, lo + (b + 2.0) * delta
    mel = _mel((sample_rate / padded) * torch.arange(padded // 2, dtype=torch.float32))
    mel = mel.unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return torch.nn.functional.pad(banks, (0, 1))


def fbank(
    wav: torch.Tensor,
    sample_rate: int = 16000,
    num_mel_bins: int = 23,
    frame_length_ms: float = 25.0,
    frame_shift_ms: float = 10.0,
) -> torch.Tensor:
    """``wav [T]`` (or ``[1, T]``) -> log mel filter bank ``[frames, num_mel_bins]``."""
    x = wav.reshape(-1).float()
    window = int(sample_rate * frame_length_ms / 1000)
    shift = int(sample_rate * frame_shift_ms / 1000)
    if x.numel() < window:
        return x.new_zeros(0, num_mel_bins)
    padded = 1 << (window - 1).bit_length()
    frames = _frames(x.contiguous(), window, shift)
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - PREEMPHASIS * previous
    povey = torch.hann_window(window, periodic=False, dtype=frames.dtype).pow(0.85)
    frames = torch.nn.functional.pad(frames * povey, (0, padded - window))
    power = torch.fft.rfft(frames).abs().pow(2.0)
    banks = kaldi_mel_banks(num_mel_bins, padded, sample_rate).to(power)
    energies = power @ banks.T
    return energies.clamp_min(torch.finfo(torch.float32).eps).log()


def dct_matrix(num_ceps: int, num_bins: int) -> torch.Tensor:
    """``[num_bins, num_ceps]``: orthonormal DCT-II columns, column 0 = ``sqrt(1 / bins)``."""
    n = torch.arange(float(num_bins))
    k = torch.arange(float(num_ceps)).unsqueeze(1)
    dct = torch.cos(math.pi / num_bins * (n + 0.5) * k) * math.sqrt(2.0 / num_bins)
    dct[0] = math.sqrt(1.0 / num_bins)
    return dct.T


def mfcc(
    wav: torch.Tensor,
    sample_rate: int = 16000,
    num_ceps: int = 13,
    num_mel_bins: int = 23,
    cepstral_lifter: float = 22.0,
) -> torch.Tensor:
    """``wav [T]`` -> ``[frames, num_ceps]`` (Kaldi's ``compute-mfcc-feats --use-energy=false``)."""
    logmel = fbank(wav, sample_rate, num_mel_bins)
    ceps = logmel @ dct_matrix(num_ceps, num_mel_bins).to(logmel)
    i = torch.arange(num_ceps, dtype=ceps.dtype)
    return ceps * (1.0 + 0.5 * cepstral_lifter * torch.sin(math.pi * i / cepstral_lifter))


def deltas(x: torch.Tensor, n: int = 2) -> torch.Tensor:
    """Deltas along the last axis of ``x [..., T]`` (window ``2 n + 1``, edges repeated)."""
    padded = torch.cat(
        [x[..., :1].expand(*x.shape[:-1], n), x, x[..., -1:].expand(*x.shape[:-1], n)], dim=-1
    )
    t = x.shape[-1]
    out = torch.zeros_like(x)
    for k in range(1, n + 1):
        out = out + k * (padded[..., n + k : n + k + t] - padded[..., n - k : n - k + t])
    return out / (2.0 * sum(k * k for k in range(1, n + 1)))
