"""Multi-resolution mel loss: mean L1 distance of log mel magnitudes at several resolutions.

One resolution with (n_fft, hop, n_mels) = (1024, 256, 80) is HiFi-GAN's mel loss (jik876/hifi-gan
``meldataset.py``: magnitude mel with Slaney filters, ``log(clamp(x, 1e-5))``; weight 45 in
``train.py``) except for framing: frames are centred here, HiFi-GAN pads (n_fft - hop) / 2. Several
resolutions (window = n_fft, hop = window / 4) follow DAC's ``MelSpectrogramLoss``
(descript-audio-codec ``dac/nn/loss.py``). Spectrograms come from :mod:`audiotok.spectral`
(torchaudio's ``MelSpectrogram`` in plain torch) and are computed in float32 outside autocast.

A resolution is ``(n_fft, n_mels)`` (hop ``n_fft // 4``) or ``(n_fft, hop, n_mels)``.
``weights``: one per resolution; the loss is then ``sum_i w_i L_i`` (SpeechTokenizer's
trainer: ``mel_loss_lambdas`` [45, 1, 1, 1] over n_fft 1024/512/256/128, hop 240/120/60/30);
without weights it is the mean over resolutions. ``mel_scale``: ``"slaney"`` or ``"htk"``
(SpeechTokenizer's filters: HTK scale, Slaney area normalisation).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiotok.spectral import MelSpectrogram

# (n_fft, n_mels) per resolution; hop = n_fft // 4
RESOLUTIONS = ((2048, 128), (1024, 80), (512, 64), (256, 32), (128, 16))


class MultiResolutionMelLoss(nn.Module):
    def __init__(
        self,
        sample_rate: int,
        resolutions: Sequence[tuple[int, ...]] = RESOLUTIONS,
        f_min: float = 0.0,
        f_max: float | None = None,
        clamp: float = 1e-5,
        weights: Sequence[float] | None = None,
        mel_scale: str = "slaney",
    ):
        super().__init__()
        self.clamp = clamp
        if weights is not None and len(weights) != len(resolutions):
            raise ValueError(f"{len(weights)} mel weights for {len(resolutions)} resolutions")
        self.weights = None if weights is None else [float(w) for w in weights]
        mels = []
        for res in resolutions:
            if len(res) == 2:
                n_fft, hop, n_mels = res[0], res[0] // 4, res[1]
            else:
                n_fft, hop, n_mels = res
            mels.append(
                MelSpectrogram(
                    sample_rate=sample_rate,
                    n_fft=n_fft,
                    win_length=n_fft,
                    hop_length=hop,
                    f_min=f_min,
                    f_max=f_max,
                    n_mels=n_mels,
                    power=1.0,
                    center=True,
                    pad_mode="reflect",
                    norm="slaney",
                    mel_scale=mel_scale,
                )
            )
        self.mels = nn.ModuleList(mels)

    def log_mels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x [B, 1, T] or [B, T] -> one log-mel [B, n_mels, frames] per resolution."""
        if x.dim() == 3:
            x = x[:, 0]
        with torch.autocast(x.device.type, enabled=False):
            return [torch.log(m(x.float()).clamp_min(self.clamp)) for m in self.mels]

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        total = torch.zeros((), device=fake.device)
        weights = self.weights or [1.0] * len(self.mels)
        for w, f, r in zip(weights, self.log_mels(fake), self.log_mels(real), strict=True):
            total = total + w * torch.mean(torch.abs(f - r))
        return total if self.weights else total / len(self.mels)
