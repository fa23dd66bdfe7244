"""Discriminators: outputs and feature maps per sub-discriminator, as published."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from audiotok.train.mpd import MultiPeriodDiscriminator
from audiotok.train.msd import MultiScaleDiscriminator
from audiotok.train.mstft import MultiScaleSTFTDiscriminator
from audiotok.train.multi import build_discriminator


def test_multi_period():
    d = MultiPeriodDiscriminator(width=1 / 16)
    x = torch.randn(2, 1, 4001)  # not a multiple of any period: reflect-padded
    logits, fmaps = d(x)
    assert len(logits) == 5 and [len(f) for f in fmaps] == [6] * 5  # 5 convs + conv_post
    for p, f in zip((2, 3, 5, 7, 11), fmaps, strict=True):
        assert f[0].shape[0] == 2 and f[0].shape[-1] == p  # folded by the period
    assert all(parametrize.is_parametrized(c) for c in d.discriminators[0].convs)


def test_multi_scale():
    d = MultiScaleDiscriminator(width=1 / 16)
    logits, fmaps = d(torch.randn(2, 1, 4000))
    assert len(logits) == 3 and [len(f) for f in fmaps] == [8] * 3  # 7 convs + conv_post
    # the first sub-discriminator has spectral norm, the others weight norm (HiFi-GAN)
    norms = [type(sd.convs[0].parametrizations.weight[0]).__name__ for sd in d.discriminators]
    assert norms == ["_SpectralNorm", "_WeightNorm", "_WeightNorm"]
    assert fmaps[1][0].shape[-1] == pytest.approx(fmaps[0][0].shape[-1] / 2, abs=1)


def test_multi_scale_stft():
    d = MultiScaleSTFTDiscriminator(filters=4)
    assert [s.win_length for s in d.discriminators] == [2048, 1024, 512, 256, 128]
    logits, fmaps = d(torch.randn(2, 1, 4096))
    assert len(logits) == 5 and [len(f) for f in fmaps] == [5] * 5  # EnCodec: no conv_post map
    spec = d.discriminators[1].spectrogram(torch.randn(2, 1, 4096))
    assert spec.shape == (2, 2, 1 + (4096 - 1024) // 256, 513)  # [B, re/im, frames, freq]
    with pytest.raises(ValueError, match="longer than the 1000-sample segment"):
        d(torch.randn(1, 1, 1000))


def test_combined_and_unknown_names():
    d = build_discriminator(("mpd", "msd", "mstft"), width=1 / 32)
    logits, fmaps = d(torch.randn(1, 1, 4096))
    assert len(logits) == len(fmaps) == 5 + 3 + 5
    with pytest.raises(ValueError, match="mpd, msd, mstft"):
        build_discriminator(("hifi",))
