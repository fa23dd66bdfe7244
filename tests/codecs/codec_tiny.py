"""Tiny random-weight codecs of every backend and test signals (imported by the tests)."""

from __future__ import annotations

import torch

import audiotok

TINY_ENCODEC = {"n_filters": 4}
TINY_DAC = {"encoder_dim": 4, "decoder_dim": 16, "n_codebooks": 6}

# name -> (registry name, builder options)
BACKENDS = {
    "encodec-24khz": ("encodec-24khz", {"config": TINY_ENCODEC, "n_codebooks": 8}),
    "encodec-48khz": ("encodec-48khz", {"config": TINY_ENCODEC, "n_codebooks": 4}),
    "dac-16khz": ("dac-16khz", {"config": TINY_DAC}),
    "dac-24khz": ("dac-24khz", {"config": TINY_DAC}),
    "dac-44khz": ("dac-44khz", {"config": TINY_DAC}),
}


def build(name: str, **extra):
    reg, opts = BACKENDS[name]
    return audiotok.load(reg, pretrained=False, device="cpu", **{**opts, **extra})


def noise(seconds: float, sr: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(int(seconds * sr), generator=g)


def padded(xs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(x) for x in xs])
    batch = torch.zeros(len(xs), 1, int(lengths.max()))
    for b, x in enumerate(xs):
        batch[b, 0, : len(x)] = x
    return batch, lengths
