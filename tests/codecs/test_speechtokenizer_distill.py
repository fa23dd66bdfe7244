"""Distillation losses, teacher alignment along time, and a few optimiser steps on a tiny
student whose codebook-0 features move towards the teacher's."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from audiotok.train.distill import (
    DistillWeights,
    align_teacher,
    crop_segment,
    d_axis_loss,
    distill_loss,
    t_axis_loss,
    teacher_cosine,
)

PERFECT = -math.log(1 / (1 + math.exp(-1)))  # -log sigmoid(1)


def test_d_axis_is_cosine_over_time_per_dimension():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(2, 30, 5, generator=g), torch.randn(2, 30, 5, generator=g)
    want = 0.0
    for b in range(2):
        for d in range(5):
            cos = F.cosine_similarity(s[b, :, d], t[b, :, d], dim=0)
            want += -math.log(torch.sigmoid(cos).item())
    assert d_axis_loss(s, t).item() == pytest.approx(want / 10, rel=1e-5)
    assert d_axis_loss(t, t).item() == pytest.approx(PERFECT, rel=1e-6)
    # per-dimension scale does not matter along time; a per-frame scale does
    scaled = t * torch.arange(1.0, 6.0)
    assert d_axis_loss(scaled, t).item() == pytest.approx(PERFECT, rel=1e-6)
    assert t_axis_loss(scaled, t).item() > PERFECT + 0.1


def test_t_axis_is_l1_plus_cosine_per_frame_and_masks_leave_padding_out():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(1, 20, 4, generator=g), torch.randn(1, 20, 4, generator=g)
    l1 = (s - t).abs().mean()
    sim = -F.logsigmoid(F.cosine_similarity(s, t, dim=-1)).mean()
    assert t_axis_loss(s, t, lambda_sim=2.0).item() == pytest.approx((l1 + 2 * sim).item())
    assert t_axis_loss(t, t).item() == pytest.approx(PERFECT, rel=1e-6)
    mask = torch.zeros(1, 20, dtype=torch.bool)
    mask[0, :12] = True
    noisy = s.clone()
    noisy[0, 12:] = 1e3  # padding
    for loss in (d_axis_loss, t_axis_loss, teacher_cosine):  # teacher_cosine: axis "d"
        assert loss(noisy, t, mask).item() == pytest.approx(loss(s, t, mask).item(), rel=1e-6)
        assert loss(noisy, t).item() != pytest.approx(loss(s, t).item(), rel=1e-3)
    assert distill_loss(s, t, kind="t_axis").item() == pytest.approx(t_axis_loss(s, t).item())
    want = F.cosine_similarity(s[:, :12], t[:, :12], dim=-1).mean().item()
    assert teacher_cosine(noisy, t, mask, axis="t").item() == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="aligned"):
        d_axis_loss(s, t[:, :10])


def test_alignment_is_exact_at_equal_rates_and_linear_in_time_otherwise():
    ramp = torch.arange(40.0)[:, None].repeat(1, 3)  # frame i holds i
    same = align_teacher(ramp[:38], 50.0, 50.0, 40)  # HuBERT gives fewer frames than ceil
    assert torch.equal(same[:38], ramp[:38]) and torch.equal(same[38:], ramp[[37, 37]])
    assert torch.equal(align_teacher(ramp, 50.0, 50.0, 25), ramp[:25])
    down = align_teacher(ramp, 50.0, 12.5, 10)  # student frame j: teacher position 4 j + 1.5
    torch.testing.assert_close(down[:, 0], 4 * torch.arange(10.0) + 1.5)
    up = align_teacher(ramp[:10], 12.5, 50.0, 40)  # position (j + 0.5) / 4 - 0.5, clamped
    want = ((torch.arange(40.0) + 0.5) / 4 - 0.5).clamp(0, 9)
    torch.testing.assert_close(up[:, 1], want)
    batched = align_teacher(ramp[None].repeat(2, 1, 1), 50.0, 12.5, 10)
    assert batched.shape == (2, 10, 3) and torch.equal(batched[1], down)


def test_segments_are_cut_along_time():
    wav = torch.arange(3200.0)
    feats = torch.arange(10.0)[:, None].repeat(1, 4)  # 10 frames of hop 320
    w, f = crop_segment(wav, feats, start_frame=3, num_frames=4, hop=320)
    assert torch.equal(w, wav[960:2240]) and torch.equal(f[:, 0], torch.tensor([3.0, 4, 5, 6]))
    with pytest.raises(ValueError, match="T', D"):  # the released dataset's [1, T', D] layout
        crop_segment(wav, feats[None], 3, 4, 320)


def test_default_weights_are_the_released_ones():
    w = DistillWeights()
    assert (w.mel, w.recon, w.commit, w.distill) == ((45.0, 1.0, 1.0, 1.0), 500.0, 10.0, 120.0)
    assert w.distill_type == "d_axis" and w.to_dict()["lambda_sim"] == 1.0


def test_distillation_steps_raise_the_teacher_cosine():
    """The gradient reaches the encoder through codebook 0's straight-through output and the
    projection: a few Adam steps on the D-axis loss alone raise the cosine to the teacher."""
    import torchaudio

    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig
    from audiotok.codecs.speechtokenizer_student import new_student

    from audio_fixtures import speechlike

    cfg = HybridCodecConfig(
        n_filters=2, dimension=8, semantic_dimension=13, codebook_size=16, n_q=2, kmeans_iters=5
    )
    model = new_student(cfg, seed=0).train()
    x = torch.stack([torch.from_numpy(speechlike(0.32, 16000, seed=i)) for i in range(2)])[:, None]
    mfcc = torchaudio.transforms.MFCC(16000, n_mfcc=13, melkwargs={"hop_length": 320, "n_mels": 40})
    teacher = mfcc(x[:, 0]).transpose(1, 2)  # [B, 17, 13] at 50 Hz
    teacher = align_teacher(teacher, 50.0, cfg.frame_rate, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    cos = []
    for _ in range(6):
        _, out, feats = model(x)
        loss = d_axis_loss(feats, teacher) + out.commit_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        cos.append(teacher_cosine(feats.detach(), teacher).item())
    assert cos[-1] > cos[0] + 0.05
