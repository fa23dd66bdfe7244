"""The RVQ of audiotok's hybrid codecs: k-means initialisation, EMA updates, dead-code restarts,
masks, commitment loss, straight-through gradients, prefixes, and the split (Mimi) variant."""

from __future__ import annotations

import pytest
import torch

from audiotok.codecs.rvq import Codebook, ResidualVQ, SplitResidualVQ, VectorQuantizer

CENTRES = torch.tensor([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0], [0.0, -4.0]])


def clustered(n: int, seed: int = 0) -> torch.Tensor:
    """[n, 2] points around four well separated centres."""
    g = torch.Generator().manual_seed(seed)
    which = torch.arange(n) % 4
    return CENTRES[which] + 0.1 * torch.randn(n, 2, generator=g)


def as_frames(x: torch.Tensor) -> torch.Tensor:
    """[N, D] -> [1, D, N] (the quantisers' layout)."""
    return x.T[None].contiguous()


def test_kmeans_initialisation_on_the_first_training_batch():
    torch.manual_seed(0)
    cb = Codebook(2, 4, kmeans_iters=20).train()
    assert cb.inited.item() == 0 and torch.all(cb.embed == 0)
    cb(clustered(400))
    assert cb.inited.item() == 1
    dist = torch.cdist(CENTRES, cb.embed).min(1).values
    assert dist.max() < 0.1  # every centre found
    assert sorted(cb.cluster_size.tolist()) == pytest.approx([100.0] * 4, abs=1)


def test_ema_updates_move_entries_toward_the_data():
    torch.manual_seed(0)
    cb = Codebook(2, 2, kmeans_init=False, decay=0.95, dead_after=0).train()
    cb.embed.copy_(torch.tensor([[1.0, 1.0], [-9.0, -9.0]]))
    cb.embed_avg.copy_(cb.embed)
    cb.cluster_size.fill_(1.0)
    target = torch.tensor([3.0, 2.0])
    gaps = []
    for _ in range(8):
        x = target + 0.01 * torch.randn(64, 2)
        _, idx = cb(x)
        assert torch.all(idx == 0)
        gaps.append(float((cb.embed[0] - target).norm()))
    assert all(b < a for a, b in zip(gaps, gaps[1:], strict=False))  # closer at every step
    assert gaps[-1] < 0.1 and torch.allclose(cb.embed[1], torch.tensor([-9.0, -9.0]), atol=1e-3)


def test_codes_unused_for_n_steps_are_restarted_from_the_batch():
    torch.manual_seed(0)
    cb = Codebook(2, 8, kmeans_init=False, dead_after=3).train()
    far = torch.full((8, 2), 50.0) + torch.arange(8.0)[:, None]
    far[0] = CENTRES[0]
    cb.embed.copy_(far)
    cb.embed_avg.copy_(far)
    cb.cluster_size.fill_(1.0)
    x = CENTRES[0] + 0.1 * torch.randn(32, 2)
    for step in range(2):
        cb(x)
        assert cb.unused_steps[1:].tolist() == [step + 1.0] * 7  # not yet
        assert cb.embed[1:].min() > 40
    cb(x)  # third step unused: restarted
    assert torch.cdist(cb.embed[1:], x).min(1).values.max() < 1e-6  # batch vectors now
    assert cb.unused_steps.tolist() == [0.0] * 8
    cb(x)  # and the replacement survives the next EMA step
    assert torch.cdist(cb.embed, x).min(1).values.max() < 0.5


def test_masked_frames_leave_the_codebook_alone():
    torch.manual_seed(0)
    vq = VectorQuantizer(2, 4, kmeans_iters=10).train()
    x = clustered(64)
    x[32:] = 1000.0  # padding with absurd values
    mask = torch.zeros(1, 64, dtype=torch.bool)
    mask[0, :32] = True
    out = vq(as_frames(x), mask)
    assert vq.codebook.embed.abs().max() < 10
    assert out.commit_loss < 0.1  # the padding is not in the loss either


def test_quantisation_error_falls_with_each_codebook():
    torch.manual_seed(0)
    rvq = ResidualVQ(8, 4, 16, kmeans_iters=10).train()
    x = as_frames(torch.randn(512, 8))
    for _ in range(5):
        rvq(x)
    rvq.eval()
    errors = [float((rvq.decode(rvq.encode(x, k)) - x).pow(2).mean()) for k in range(1, 5)]
    assert all(b < 0.9 * a for a, b in zip(errors, errors[1:], strict=False))
    codes = rvq.encode(x)
    assert codes.shape == (1, 4, 512) and codes.dtype == torch.long
    assert torch.equal(rvq.encode(x, 2), codes[:, :2])  # fewer codebooks: a prefix
    with pytest.raises(ValueError):
        rvq.encode(x, 5)


def test_straight_through_gradient_and_commitment_loss():
    torch.manual_seed(0)
    rvq = ResidualVQ(4, 3, 8, kmeans_iters=5).train()
    x = as_frames(torch.randn(64, 4)).requires_grad_(True)
    out = rvq(x)
    assert out.codes.shape == (1, 3, 64) and len(out.layer_outputs) == 3
    out.quantized.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))  # identity through the quantiser
    x.grad = None
    rvq(x).commit_loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    rvq.eval()
    with torch.no_grad():
        q = rvq(x).quantized
    torch.testing.assert_close(q, rvq.decode(rvq.encode(x)))


def test_split_quantiser_puts_the_semantic_codebook_first():
    torch.manual_seed(0)
    split = SplitResidualVQ(4, 4, 8, kmeans_iters=5).train()
    x = as_frames(torch.randn(128, 4))
    out = split(x)
    assert out.codes.shape == (1, 4, 128) and len(out.layer_outputs) == 4
    split.eval()
    sem = split.semantic.encode(x)
    assert torch.equal(split.encode(x)[:, :1], sem)
    assert torch.equal(split.encode(x, 1), sem)
    with torch.no_grad():
        again = split(x)
    torch.testing.assert_close(again.layer_outputs[0], split.semantic.decode(sem))
    # parallel, not residual: the acoustic RVQ quantises x itself
    assert torch.equal(split.encode(x)[:, 1:], split.acoustic.encode(x))
    codes = split.encode(x)
    torch.testing.assert_close(
        split.decode(codes),
        split.semantic.decode(codes[:, :1]) + split.acoustic.decode(codes[:, 1:]),
    )
    with pytest.raises(ValueError):
        SplitResidualVQ(4, 1, 8)
