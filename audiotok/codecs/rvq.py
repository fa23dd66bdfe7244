"""Residual vector quantisation with EMA codebooks (our implementation), and a split variant.

The method is SoundStream's (Zeghidour et al. 2021, Algorithm 1) as EnCodec and SpeechTokenizer
train it; the facts (EMA decay 0.99, Laplace smoothing epsilon 1e-5, k-means initialisation on
the first batch with 50 iterations, commitment loss ``mse(x, sg(q))`` with weight 1, squared
Euclidean nearest entry) are from ``speechtokenizer/quantization/core_vq.py``. Buffer names
are that file's, so SpeechTokenizer checkpoints load by key:
``layers.{i}._codebook.{inited, cluster_size, embed, embed_avg}``.

Where we depart (and why):

- Dead codes: an entry unused for ``dead_after`` consecutive training steps is replaced by a
  random frame of the batch (the brief of issue 11). Upstream tests the EMA cluster size
  against a threshold and replaces ``embed`` *before* recomputing it from ``embed_avg``, which
  overwrites the replacement; here the replacement is written after the EMA update into both
  ``embed`` and ``embed_avg`` (with cluster size 1), so it survives. The step counter is an
  extra buffer ``unused_steps``; checkpoints without it (upstream's) load with zeros.
- After k-means, ``embed_avg`` holds each cluster's sum (centre x count), not its centre,
  so that ``embed_avg / cluster_size`` is the centre: upstream stores the centre with the
  counts as cluster sizes, which shrinks every entry towards zero on the first EMA step.
- A ``mask`` [B, T'] keeps padding frames out of the codebook statistics and the loss.
- Under ``torch.distributed`` the counts and sums are all-reduced and initialisations and
  replacements are broadcast from rank 0, so every rank keeps the same codebooks.

Codes are ``[B, K, T']`` (upstream returns ``[K, B, T']``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn


def _dist() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def _all_reduce_(*tensors: torch.Tensor) -> None:
    if _dist():
        import torch.distributed as dist

        for t in tensors:
            dist.all_reduce(t)


def _broadcast_(t: torch.Tensor) -> None:
    if _dist():
        import torch.distributed as dist

        dist.broadcast(t, 0)


def sample_vectors(samples: torch.Tensor, num: int) -> torch.Tensor:
    """``num`` rows of ``samples`` [N, D]: without replacement when there are enough."""
    n = samples.shape[0]
    if n >= num:
        idx = torch.randperm(n, device=samples.device)[:num]
    else:
        idx = torch.randint(0, n, (num,), device=samples.device)
    return samples[idx]


def squared_distances(x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
    """``|x - e|^2`` [N, K] for x [N, D], embed [K, D] (the expansion upstream uses)."""
    e = embed.t()  # the same operations, in the same order, as upstream: equal rounding
    return x.pow(2).sum(1, keepdim=True) - 2 * x @ e + e.pow(2).sum(0, keepdim=True)


def kmeans(samples: torch.Tensor, k: int, iters: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means from ``k`` sampled rows; an empty cluster keeps its centre.
    Returns (centres [k, D], counts [k])."""
    means = sample_vectors(samples, k)
    counts = torch.zeros(k, device=samples.device)
    for _ in range(iters):
        assign = squared_distances(samples, means).argmin(-1)
        counts = torch.bincount(assign, minlength=k).to(samples.dtype)
        sums = torch.zeros_like(means).index_add_(0, assign, samples)
        new = sums / counts.clamp(min=1)[:, None]
        means = torch.where((counts == 0)[:, None], means, new)
    return means, counts


class Codebook(nn.Module):
    """One codebook of ``size`` entries of dimension ``dim`` with EMA updates."""

    inited: torch.Tensor
    cluster_size: torch.Tensor
    embed: torch.Tensor
    embed_avg: torch.Tensor
    unused_steps: torch.Tensor

    def __init__(
        self,
        dim: int,
        size: int,
        decay: float = 0.99,
        epsilon: float = 1e-5,
        kmeans_init: bool = True,
        kmeans_iters: int = 50,
        dead_after: int = 100,
    ):
        super().__init__()
        self.size, self.decay, self.epsilon = size, decay, epsilon
        self.kmeans_iters, self.dead_after = kmeans_iters, dead_after
        if kmeans_init:
            embed = torch.zeros(size, dim)
        else:
            embed = nn.init.kaiming_uniform_(torch.empty(size, dim))
        self.register_buffer("inited", torch.tensor([float(not kmeans_init)]))
        self.register_buffer("cluster_size", torch.zeros(size))
        self.register_buffer("embed", embed)
        self.register_buffer("embed_avg", embed.clone())
        self.register_buffer("unused_steps", torch.zeros(size))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        state_dict.setdefault(prefix + "unused_steps", torch.zeros_like(self.unused_steps))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, D] -> index [N] of the nearest entry."""
        return squared_distances(x, self.embed).argmin(-1)

    @torch.no_grad()
    def init_from(self, x: torch.Tensor) -> None:
        means, counts = kmeans(x, self.size, self.kmeans_iters)
        _broadcast_(means)
        _broadcast_(counts)
        counts = counts.clamp(min=1.0)
        self.embed.copy_(means)
        self.embed_avg.copy_(means * counts[:, None])  # embed = embed_avg / cluster_size
        self.cluster_size.copy_(counts)
        self.inited.fill_(1.0)

    @torch.no_grad()
    def update(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        """One EMA step from frames x [N, D] assigned to idx [N]; then dead-code restarts."""
        counts = torch.bincount(idx, minlength=self.size).to(x.dtype)
        sums = torch.zeros_like(self.embed).index_add_(0, idx, x)
        _all_reduce_(counts, sums)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.epsilon) / (n + self.size * self.epsilon) * n
        self.embed.copy_(self.embed_avg / smoothed[:, None])
        self.unused_steps.copy_(torch.where(counts > 0, 0.0, self.unused_steps + 1))
        dead = torch.as_tensor(self.unused_steps >= self.dead_after)
        _broadcast_(dead)
        if self.dead_after > 0 and bool(dead.any()) and x.shape[0] > 0:
            new = sample_vectors(x, self.size)
            _broadcast_(new)
            self.embed[dead] = new[dead]
            self.embed_avg[dead] = new[dead]
            self.cluster_size[dead] = 1.0
            self.unused_steps[dead] = 0.0

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None):
        """x [N, D] -> (entries [N, D], index [N]); in training, frames where ``keep`` [N]
        is true initialise (first call) and update the codebook."""
        if self.training:
            xs = x if keep is None else x[keep]
            if not bool(self.inited.item()) and xs.shape[0] > 0:
                self.init_from(xs)
        idx = self.nearest(x)
        q = F.embedding(idx, self.embed)
        if self.training:
            self.update(xs, idx if keep is None else idx[keep])
        return q, idx


@dataclass
class VQOutput:
    quantized: torch.Tensor  # [B, D, T'] (straight-through in training)
    codes: torch.Tensor  # [B, T'] (one stage) or [B, K, T']
    commit_loss: torch.Tensor  # scalar
    layer_outputs: list[torch.Tensor]  # each stage's quantized [B, D, T']


class VectorQuantizer(nn.Module):
    """One stage: nearest entry, straight-through gradient, commitment loss."""

    def __init__(self, dim: int, size: int, **codebook_kwargs):
        super().__init__()
        self._codebook = Codebook(dim, size, **codebook_kwargs)

    @property
    def codebook(self) -> Codebook:
        return self._codebook

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, D, T'] -> codes [B, T']."""
        b, d, t = x.shape
        return self._codebook.nearest(x.transpose(1, 2).reshape(-1, d)).view(b, t)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, T'] -> [B, D, T']."""
        return F.embedding(codes, self._codebook.embed).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> VQOutput:
        b, d, t = x.shape
        flat = x.float().transpose(1, 2).reshape(-1, d)
        keep = None if mask is None else mask.reshape(-1)
        q, idx = self._codebook(flat, keep)
        q = q.view(b, t, d).transpose(1, 2)
        xf = x.float()
        if keep is None:
            loss = F.mse_loss(xf, q.detach())
        else:
            m = mask[:, None, :].to(xf.dtype)  # type: ignore[index]
            loss = ((xf - q.detach()).pow(2) * m).sum() / (m.sum() * d).clamp(min=1)
        if self.training:
            q = xf + (q - xf).detach()  # straight-through estimator
        q = q.to(x.dtype)
        return VQOutput(q, idx.view(b, t), loss, [q])


class ResidualVQ(nn.Module):
    """``n_q`` stages, each quantising what the previous ones left (keys ``layers.{i}.*``)."""

    def __init__(self, dim: int, n_q: int, size: int, **codebook_kwargs):
        super().__init__()
        self.dim, self.size = dim, size
        self.layers = nn.ModuleList(
            [VectorQuantizer(dim, size, **codebook_kwargs) for _ in range(n_q)]
        )

    @property
    def n_q(self) -> int:
        return len(self.layers)

    def _k(self, n_q: int | None) -> int:
        k = self.n_q if n_q is None else n_q
        if not 1 <= k <= self.n_q:
            raise ValueError(f"n_q must be between 1 and {self.n_q}, got {k}")
        return k

    def stage(self, i: int) -> VectorQuantizer:
        return cast(VectorQuantizer, self.layers[i])

    def forward(
        self, x: torch.Tensor, n_q: int | None = None, mask: torch.Tensor | None = None
    ) -> VQOutput:
        residual, total = x, torch.zeros_like(x)
        codes, losses, outs = [], [], []
        for layer in map(self.stage, range(self._k(n_q))):
            o = layer(residual, mask)
            residual = residual - o.quantized
            total = total + o.quantized
            codes.append(o.codes)
            losses.append(o.commit_loss)
            outs.append(o.quantized)
        return VQOutput(total, torch.stack(codes, 1), torch.stack(losses).mean(), outs)

    def encode(self, x: torch.Tensor, n_q: int | None = None) -> torch.Tensor:
        """x [B, D, T'] -> codes [B, K, T'] (the first K stages: a prefix of more)."""
        residual, codes = x, []
        for layer in map(self.stage, range(self._k(n_q))):
            c = layer.encode(residual)
            residual = residual - layer.decode(c)
            codes.append(c)
        return torch.stack(codes, 1)

    def decode(self, codes: torch.Tensor, start: int = 0) -> torch.Tensor:
        """codes [B, K, T'] of stages ``start .. start + K - 1`` -> the sum of their entries."""
        out = torch.zeros((), device=codes.device)
        for i in range(codes.shape[1]):
            out = out + self.stage(start + i).decode(codes[:, i])
        return out


class SplitResidualVQ(nn.Module):
    """Mimi's split quantiser (Défossez et al. 2024, Moshi §3.3): a semantic RVQ of
    ``n_semantic`` stages in parallel to an acoustic RVQ of ``n_q - n_semantic`` stages, both
    quantising the same input; the output is their sum and the semantic codes come first."""

    def __init__(self, dim: int, n_q: int, size: int, n_semantic: int = 1, **codebook_kwargs):
        super().__init__()
        if not 1 <= n_semantic < n_q:
            raise ValueError(f"need 1 <= n_semantic < n_q, got {n_semantic} and {n_q}")
        self.dim, self.size, self.n_semantic = dim, size, n_semantic
        self.semantic = ResidualVQ(dim, n_semantic, size, **codebook_kwargs)
        self.acoustic = ResidualVQ(dim, n_q - n_semantic, size, **codebook_kwargs)

    @property
    def n_q(self) -> int:
        return self.semantic.n_q + self.acoustic.n_q

    def _split(self, n_q: int | None) -> int:
        k = self.n_q if n_q is None else n_q
        if not self.n_semantic <= k <= self.n_q:
            raise ValueError(f"n_q must be between {self.n_semantic} and {self.n_q}, got {k}")
        return k - self.n_semantic

    def forward(
        self, x: torch.Tensor, n_q: int | None = None, mask: torch.Tensor | None = None
    ) -> VQOutput:
        n_ac = self._split(n_q)
        sem = self.semantic(x, mask=mask)
        if n_ac == 0:
            return sem
        ac = self.acoustic(x, n_ac, mask=mask)
        loss = (sem.commit_loss * self.n_semantic + ac.commit_loss * n_ac) / (
            self.n_semantic + n_ac
        )
        codes = torch.cat([sem.codes, ac.codes], 1)
        return VQOutput(
            sem.quantized + ac.quantized, codes, loss, sem.layer_outputs + ac.layer_outputs
        )

    def encode(self, x: torch.Tensor, n_q: int | None = None) -> torch.Tensor:
        n_ac = self._split(n_q)
        codes = self.semantic.encode(x)
        if n_ac:
            codes = torch.cat([codes, self.acoustic.encode(x, n_ac)], 1)
        return codes

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        out = self.semantic.decode(codes[:, : self.n_semantic])
        if codes.shape[1] > self.n_semantic:
            out = out + self.acoustic.decode(codes[:, self.n_semantic :])
        return out
