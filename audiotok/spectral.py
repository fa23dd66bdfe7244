"""Mel spectrograms in plain torch, for metrics and training losses.

The same numbers as ``torchaudio.transforms.MelSpectrogram`` (tested against it within 1e-4),
computed without torchaudio's compiled library, whose wheels load only beside the torch they
were built for. Facts from torchaudio's ``functional.melscale_fbanks`` documentation and
Slaney's Auditory Toolbox: HTK mel ``2595 log10(1 + f / 700)``; Slaney mel linear below 1 kHz
(``f / (200 / 3)``) and logarithmic above (``log(6.4) / 27`` per mel); triangular filters
between ``n_mels + 2`` points equally spaced in mel over ``[f_min, f_max]``, sampled at the
``n_fft // 2 + 1`` bin frequencies ``linspace(0, sr // 2)``; Slaney area normalisation divides
each filter by half its bandwidth in Hz.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_SLANEY_SP = 200.0 / 3  # Hz per mel below 1 kHz
_SLANEY_LOG_HZ = 1000.0
_SLANEY_LOG_MEL = _SLANEY_LOG_HZ / _SLANEY_SP
_SLANEY_STEP = math.log(6.4) / 27.0


def hz_to_mel(f: torch.Tensor, scale: str) -> torch.Tensor:
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    lin = f / _SLANEY_SP
    log = _SLANEY_LOG_MEL + torch.log(f.clamp_min(_SLANEY_LOG_HZ) / _SLANEY_LOG_HZ) / _SLANEY_STEP
    return torch.where(f >= _SLANEY_LOG_HZ, log, lin)


def _hz_to_mel_scalar(f: float, scale: str) -> float:
    if scale == "htk":
        return 2595.0 * math.log10(1.0 + f / 700.0)
    if f < _SLANEY_LOG_HZ:
        return f / _SLANEY_SP
    return _SLANEY_LOG_MEL + math.log(f / _SLANEY_LOG_HZ) / _SLANEY_STEP


def mel_to_hz(m: torch.Tensor, scale: str) -> torch.Tensor:
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    lin = m * _SLANEY_SP
    log = _SLANEY_LOG_HZ * torch.exp(_SLANEY_STEP * (m - _SLANEY_LOG_MEL))
    return torch.where(m >= _SLANEY_LOG_MEL, log, lin)


def mel_filterbank(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: str | None = None,
    mel_scale: str = "htk",
) -> torch.Tensor:
    """Triangular mel filters ``[n_freqs, n_mels]`` (torchaudio's ``melscale_fbanks`` layout)."""
    if mel_scale not in ("htk", "slaney"):
        raise ValueError(f"mel_scale must be 'htk' or 'slaney', not {mel_scale!r}")
    if norm not in (None, "slaney"):
        raise ValueError(f"norm must be None or 'slaney', not {norm!r}")
    freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    lo, hi = (_hz_to_mel_scalar(float(f), mel_scale) for f in (f_min, f_max))
    points = mel_to_hz(torch.linspace(lo, hi, n_mels + 2), mel_scale)
    widths = points[1:] - points[:-1]
    offsets = points.unsqueeze(0) - freqs.unsqueeze(1)  # [n_freqs, n_mels + 2]
    rising = -offsets[:, :-2] / widths[:-1]
    falling = offsets[:, 2:] / widths[1:]
    fb = torch.clamp(torch.minimum(rising, falling), min=0.0)
    if norm == "slaney":
        fb = fb * (2.0 / (points[2 : n_mels + 2] - points[:n_mels])).unsqueeze(0)
    return fb


class MelSpectrogram(nn.Module):
    """``wav [..., T] -> mel [..., n_mels, frames]``: a Hann-windowed STFT magnitude raised to
    ``power`` and projected on mel filters (torchaudio's ``MelSpectrogram`` options)."""

    window: torch.Tensor
    fb: torch.Tensor

    def __init__(
        self,
        sample_rate: int,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_mels: int = 128,
        power: float = 2.0,
        center: bool = True,
        pad_mode: str = "reflect",
        norm: str | None = None,
        mel_scale: str = "htk",
    ):
        super().__init__()
        self.sample_rate, self.n_fft, self.n_mels = sample_rate, n_fft, n_mels
        self.f_min, self.f_max = f_min, f_max
        self.norm, self.mel_scale = norm, mel_scale
        self.win_length = win_length or n_fft
        self.hop_length = hop_length or self.win_length // 2
        self.power = power
        self.center = center
        self.pad_mode = pad_mode
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)
        fb = mel_filterbank(
            n_fft // 2 + 1,
            f_min,
            float(f_max if f_max is not None else sample_rate // 2),
            n_mels,
            sample_rate,
            norm,
            mel_scale,
        )
        self.register_buffer("fb", fb, persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        shape = wav.shape
        spec = torch.stft(
            wav.reshape(-1, shape[-1]),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=self.center,
            pad_mode=self.pad_mode,
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        mag = spec.abs()
        if self.power != 1.0:
            mag = mag.pow(self.power)
        mel = torch.matmul(mag.transpose(-1, -2), self.fb).transpose(-1, -2)
        return mel.reshape(*shape[:-1], mel.shape[-2], mel.shape[-1])
