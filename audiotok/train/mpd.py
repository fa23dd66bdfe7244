"""HiFi-GAN's multi-period discriminator (Kong et al. 2020, arXiv:2010.05646, section 2.2).

Facts from jik876/hifi-gan ``models.py`` (also facebookresearch/speech-resynthesis
``models.py``, ``DiscriminatorP``): periods 2, 3, 5, 7, 11; the waveform is reflect-padded to a
multiple of the period and folded to ``[B, 1, T / p, p]``; five Conv2d layers with kernel
(5, 1), channels 32, 128, 512, 1024, 1024, stride (3, 1) except the last (stride 1), padding
(2, 0); a (3, 1) output conv to one channel; leaky ReLU 0.1; weight norm everywhere.
``width`` scales the channel counts (1.0 = HiFi-GAN) for small CPU runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

LRELU_SLOPE = 0.1
PERIODS = (2, 3, 5, 7, 11)
CHANNELS = (32, 128, 512, 1024, 1024)


def scaled(channels: tuple[int, ...], width: float) -> list[int]:
    return [max(1, round(c * width)) for c in channels]


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, width: float = 1.0, kernel_size: int = 5, stride: int = 3):
        super().__init__()
        self.period = period
        chs = [1, *scaled(CHANNELS, width)]
        pad = (kernel_size - 1) // 2
        self.convs = nn.ModuleList(
            weight_norm(
                nn.Conv2d(
                    chs[i],
                    chs[i + 1],
                    (kernel_size, 1),
                    (stride if i < len(CHANNELS) - 1 else 1, 1),
                    padding=(pad, 0),
                )
            )
            for i in range(len(CHANNELS))
        )
        self.conv_post = weight_norm(nn.Conv2d(chs[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x [B, 1, T] -> (logits [B, N], feature maps)."""
        b, c, t = x.shape
        if t % self.period:
            n_pad = self.period - t % self.period
            x = F.pad(x, (0, n_pad), "reflect")
            t += n_pad
        x = x.view(b, c, t // self.period, self.period)
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1), fmap


class MultiPeriodDiscriminator(nn.Module):
    """forward(x [B, 1, T]) -> (logits per period, feature maps per period)."""

    def __init__(self, periods: tuple[int, ...] = PERIODS, width: float = 1.0):
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, width) for p in periods)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        logits, fmaps = [], []
        for d in self.discriminators:
            logit, fmap = d(x)
            logits.append(logit)
            fmaps.append(fmap)
        return logits, fmaps
