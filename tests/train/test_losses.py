"""Losses: known answers for LSGAN, feature matching and the multi-resolution mel loss."""

from __future__ import annotations

import math

import torch

from audiotok.train.losses import discriminator_loss, feature_matching_loss, generator_loss
from audiotok.train.mel import MultiResolutionMelLoss


def test_lsgan_known_answers():
    ones, zeros = [torch.ones(2, 5)] * 3, [torch.zeros(2, 5)] * 3
    assert float(discriminator_loss(ones, zeros)) == 0.0  # perfect discriminator
    assert float(discriminator_loss(zeros, ones)) == 6.0  # (1 + 1) per sub-discriminator
    assert float(generator_loss(ones)) == 0.0 and float(generator_loss(zeros)) == 3.0
    half = [torch.full((4,), 0.5)]
    assert float(discriminator_loss(half, half)) == 0.5


def test_feature_matching_known_answer_and_gradient_path():
    real = [[torch.zeros(3), torch.ones(2)]]
    fake = [[torch.full((3,), 2.0, requires_grad=True), torch.ones(2, requires_grad=True)]]
    loss = feature_matching_loss(real, fake)
    assert float(loss.detach()) == 2.0
    loss.backward()
    assert fake[0][0].grad is not None and float(fake[0][0].grad.sum()) == 1.0


def test_mel_loss():
    mel = MultiResolutionMelLoss(16000)
    t = torch.arange(8000) / 16000
    a = torch.sin(2 * math.pi * 440 * t)[None, None]
    b = torch.sin(2 * math.pi * 880 * t)[None, None]
    assert float(mel(a, a)) == 0.0
    assert float(mel(a, b)) > 0.5
    noise = 0.3 * torch.randn(1, 1, 8000, generator=torch.Generator().manual_seed(0))
    # every mel band of white noise is far above the 1e-5 clamp: halving moves each by ln 2
    assert abs(float(mel(noise, 0.5 * noise)) - math.log(2.0)) < 1e-4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = mel(a, b)
    assert value.dtype == torch.float32 and abs(float(value) - float(mel(a, b))) < 1e-5
