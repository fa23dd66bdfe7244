"""HiFi-GAN's multi-scale discriminator (Kong et al. 2020, section 2.3, from MelGAN).

Facts from jik876/hifi-gan ``models.py`` (``DiscriminatorS``, ``MultiScaleDiscriminator``):
three sub-discriminators on the raw waveform and on two 2x average-pooled versions
(``AvgPool1d(4, 2, padding=2)``); the first uses spectral norm, the others weight norm. Conv1d
layers (in, out, kernel, stride, groups): (1, 128, 15, 1, 1), (128, 128, 41, 2, 4),
(128, 256, 41, 2, 16), (256, 512, 41, 4, 16), (512, 1024, 41, 4, 16), (1024, 1024, 41, 1, 16),
(1024, 1024, 5, 1, 1), padding ``kernel // 2``; output conv (1024, 1, 3); leaky ReLU 0.1.
``width`` scales the channels (groups shrink to divide them).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

LRELU_SLOPE = 0.1
# (out channels, kernel, stride, groups); input of the first is the waveform
LAYERS = (
    (128, 15, 1, 1),
    (128, 41, 2, 4),
    (256, 41, 2, 16),
    (512, 41, 4, 16),
    (1024, 41, 4, 16),
    (1024, 41, 1, 16),
    (1024, 5, 1, 1),
)


class ScaleDiscriminator(nn.Module):
    def __init__(self, use_spectral_norm: bool = False, width: float = 1.0):
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        convs = []
        c_in = 1
        for c_out, k, s, g in LAYERS:
            c_out = max(1, round(c_out * width))
            groups = math.gcd(math.gcd(g, c_in), c_out)
            convs.append(norm(nn.Conv1d(c_in, c_out, k, s, groups=groups, padding=k // 2)))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.conv_post = norm(nn.Conv1d(c_in, 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fmap = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1), fmap


class MultiScaleDiscriminator(nn.Module):
    """forward(x [B, 1, T]) -> (logits per scale, feature maps per scale)."""

    def __init__(self, scales: int = 3, width: float = 1.0):
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(use_spectral_norm=(i == 0), width=width) for i in range(scales)
        )
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        logits, fmaps = [], []
        for i, d in enumerate(self.discriminators):
            if i:
                x = self.pool(x)
            logit, fmap = d(x)
            logits.append(logit)
            fmaps.append(fmap)
        return logits, fmaps
