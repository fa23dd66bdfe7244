"""Multi-resolution mel loss: mean L1 distance of log mel magnitudes at several resolutions.

One resolution with (n_fft, hop, n_mels) = (1024, 256, 80) is HiFi-GAN's mel loss (jik876/hifi-gan
``meldataset.py``: magnitude mel with Slaney filters, ``log(clamp(x, 1e-5))``; weight 45 in
``train.py``) except for framing: frames are centred here, HiFi-GAN pads (n_fft - hop) / 2. Several
resolutions (window = n_fft, hop = window / 4) follow DAC's ``MelSpectrogramLoss``
(descript-audio-codec ``dac/nn/loss.py``). Spectrograms come from ``torchaudio.transforms``
and are computed in float32 outside autocast.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

# (n_fft, n_mels) per resolution; hop = n_fft // 4
RESOLUTIONS = ((2048, 128), (1024, 80), (512, 64), (256, 32), (128, 16))


class MultiResolutionMelLoss(nn.Module):
    def __init__(
        self,
        sample_rate: int,
        resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS,
        f_min: float = 0.0,
        f_max: float | None = None,
        clamp: float = 1e-5,
    ):
        super().__init__()
        self.clamp = clamp
        self.mels = nn.ModuleList(
            torchaudio.transforms.MelSpectrogram(
                sample_rate=sample_rate,
                n_fft=n_fft,
                win_length=n_fft,
                hop_length=n_fft // 4,
                f_min=f_min,
                f_max=f_max,
                n_mels=n_mels,
                power=1.0,
                center=True,
                pad_mode="reflect",
                norm="slaney",
                mel_scale="slaney",
            )
            for n_fft, n_mels in resolutions
        )

    def log_mels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x [B, 1, T] or [B, T] -> one log-mel [B, n_mels, frames] per resolution."""
        if x.dim() == 3:
            x = x[:, 0]
        with torch.autocast(x.device.type, enabled=False):
            return [torch.log(m(x.float()).clamp_min(self.clamp)) for m in self.mels]

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        total = torch.zeros((), device=fake.device)
        for f, r in zip(self.log_mels(fake), self.log_mels(real), strict=True):
            total = total + torch.mean(torch.abs(f - r))
        return total / len(self.mels)
