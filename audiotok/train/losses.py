"""Adversarial losses: least-squares GAN (Mao et al. 2017) and feature matching.

As HiFi-GAN (jik876/hifi-gan ``models.py``): the discriminator minimises
``mean((1 - D(real))^2) + mean(D(fake)^2)`` summed over sub-discriminators, the generator
``mean((1 - D(fake))^2)``; feature matching is the L1 distance between the discriminator's
feature maps of real and generated audio, summed over layers and sub-discriminators (HiFi-GAN
multiplies it by 2, which is the trainer's default ``fm_weight``). Losses are computed in
float32 whatever the autocast dtype.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def discriminator_loss(real: Sequence[torch.Tensor], fake: Sequence[torch.Tensor]) -> torch.Tensor:
    total = torch.zeros((), device=real[0].device)
    for r, f in zip(real, fake, strict=True):
        total = total + torch.mean((1 - r.float()) ** 2) + torch.mean(f.float() ** 2)
    return total


def generator_loss(fake: Sequence[torch.Tensor]) -> torch.Tensor:
    total = torch.zeros((), device=fake[0].device)
    for f in fake:
        total = total + torch.mean((1 - f.float()) ** 2)
    return total


def feature_matching_loss(
    real: Sequence[Sequence[torch.Tensor]], fake: Sequence[Sequence[torch.Tensor]]
) -> torch.Tensor:
    total = torch.zeros((), device=real[0][0].device)
    for rs, fs in zip(real, fake, strict=True):
        for r, f in zip(rs, fs, strict=True):
            total = total + torch.mean(torch.abs(r.float().detach() - f.float()))
    return total
