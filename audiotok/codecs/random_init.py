"""Random weights from a local ``torch.Generator`` (tests, benchmarks, ``pretrained=False``).

Modules initialise themselves from torch's global RNG; re-drawing every parameter here from a
caller's generator makes a random-weight model depend on its seed alone and leaves the
process's RNG untouched. The distributions follow torch's defaults: convolutions, linear and
LSTM weights and biases uniform in ``±1/sqrt(fan_in)`` (``±1/sqrt(hidden)`` for an LSTM),
embeddings standard normal; norms and Snake ``alpha`` keep their constant initial values.
Weight-normalised layers (``weight_v`` / ``weight_g``) draw ``v`` and set ``g = |v|``, so
the effective weight is ``v``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _fan_in(module: nn.Module, weight: torch.Tensor) -> int:
    if isinstance(module, nn.LSTM):
        return module.hidden_size
    if weight.dim() < 2:
        return max(1, weight.numel())
    return weight[0].numel()  # Conv1d [out, in, k]: in * k; ConvTranspose1d [in, out, k]


@torch.no_grad()
def random_init_(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-draw ``model``'s parameters from ``generator`` in place; returns ``model``."""
    for m in model.modules():
        if isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            continue
        params = dict(m.named_parameters(recurse=False))
        if isinstance(m, nn.Embedding):
            params["weight"].normal_(generator=generator)
            continue
        weight = params.get("weight_v", params.get("weight"))
        if weight is None and not isinstance(m, nn.LSTM):
            continue
        for name, p in params.items():
            if name in ("weight_g", "alpha"):
                continue
            ref = p if isinstance(m, nn.LSTM) or weight is None else weight
            bound = 1 / math.sqrt(_fan_in(m, ref))
            p.uniform_(-bound, bound, generator=generator)
        if "weight_g" in params:
            v = params["weight_v"]
            norm = torch.linalg.vector_norm(v, dim=tuple(range(1, v.dim())), keepdim=True)
            params["weight_g"].copy_(norm)
    return model


def codebook_from_frames_(
    book: torch.Tensor, frames: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Fill ``book [N, D]`` with frames ``[T', D]`` drawn at random plus noise of half their
    spread: random-weight codecs then use many entries (tests need codes that vary), where
    torch's default init collapses every frame onto a few."""
    idx = torch.randint(0, frames.shape[0], (book.shape[0],), generator=generator)
    spread = frames.std(dim=0, keepdim=True) + 1e-6
    noise = torch.randn(book.shape, generator=generator)
    return book.copy_(frames[idx] + 0.5 * spread * noise)
