"""Several multi-discriminators as one: logits and feature maps concatenated in order."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

DISCRIMINATORS = ("mpd", "msd", "mstft")


class CombinedDiscriminator(nn.Module):
    """forward(x [B, 1, T]) -> (logits of every sub-discriminator, their feature maps)."""

    def __init__(self, parts: dict[str, nn.Module]):
        super().__init__()
        self.parts = nn.ModuleDict(parts)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        logits: list[torch.Tensor] = []
        fmaps: list[list[torch.Tensor]] = []
        for part in self.parts.values():
            lg, fm = part(x)
            logits.extend(lg)
            fmaps.extend(fm)
        return logits, fmaps


def build_discriminator(names: Sequence[str], width: float = 1.0) -> CombinedDiscriminator:
    """``names`` from ``mpd`` (multi-period), ``msd`` (multi-scale), ``mstft`` (multi-scale
    STFT); ``width`` scales their channels (1.0 = the published sizes)."""
    from audiotok.train.mpd import MultiPeriodDiscriminator
    from audiotok.train.msd import MultiScaleDiscriminator
    from audiotok.train.mstft import MultiScaleSTFTDiscriminator

    builders = {
        "mpd": lambda: MultiPeriodDiscriminator(width=width),
        "msd": lambda: MultiScaleDiscriminator(width=width),
        "mstft": lambda: MultiScaleSTFTDiscriminator(filters=max(1, round(32 * width))),
    }
    unknown = [n for n in names if n not in builders]
    if unknown or not names:
        raise ValueError(
            f"unknown discriminator(s) {unknown or names}: choose from {', '.join(DISCRIMINATORS)}"
        )
    return CombinedDiscriminator({n: builders[n]() for n in names})
