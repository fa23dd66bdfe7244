"""RVQ encoding whose codes do not depend on how the frames were batched.

EnCodec (``encodec.quantization.core_vq.EuclideanCodebook.quantize``) and Mimi (transformers'
``MimiEuclideanCodebook.quantize``, ``torch.cdist``) pick each frame's entry from a float32
distance matrix computed by one matrix product over all frames. The product's rounding depends
on its shape (measured on this CPU: rows of ``x[i:i+M] @ e`` differ from the same rows of the
full product for M = 1..3 on one thread and M = 5, 7 on two), and at a near tie the choice
follows the rounding: a tiny random EnCodec gave a different code at 2 of 78 frames when
frames were quantized one by one, so streamed codes (a few frames per step) would not equal
the file's. Here the squared distances are computed in float64 (``|e|^2 - 2 x.e``; ``|x|^2`` is
the same for every entry of a row), where shape-dependent rounding is ~1e-16 relative: a
frame's code is the same whatever frames it is batched with. Where the float32 product had
picked an entry within its rounding of the nearest, this picks the nearest.

Codebooks, residual updates and decoding are the models' own (``layer.decode``).
"""

from __future__ import annotations

from typing import Any

import torch


def nearest(x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
    """x[..., D], embed[N, D] -> index of the nearest entry, LongTensor[...]."""
    e = embed.double()
    flat = x.reshape(-1, x.shape[-1]).double()
    d = e.pow(2).sum(1)[None] - 2 * flat @ e.T
    return d.argmin(dim=1).view(x.shape[:-1])


def encodec_codes(vq: Any, emb: torch.Tensor, n_q: int) -> torch.Tensor:
    """encodec's ``ResidualVectorQuantization`` (``vq``) over emb[B, D, T'] -> codes[B, K, T']."""
    residual = emb
    codes = []
    for layer in vq.layers[:n_q]:
        idx = nearest(layer.project_in(residual.transpose(1, 2)), layer._codebook.embed)
        residual = residual - layer.decode(idx)
        codes.append(idx)
    return torch.stack(codes, dim=1)


def _mimi_rvq(rvq: Any, latents: torch.Tensor, n_q: int) -> list[torch.Tensor]:
    z = rvq.input_proj(latents) if rvq.input_proj is not None else latents
    codes = []
    for layer in rvq.layers[:n_q]:
        idx = nearest(z.transpose(1, 2), layer.codebook.embed)
        z = z - layer.decode(idx)
        codes.append(idx)
    return codes


def mimi_codes(quantizer: Any, latents: torch.Tensor, n_q: int) -> torch.Tensor:
    """transformers' ``MimiSplitResidualVectorQuantizer`` over latents[B, D, T'] ->
    codes[B, K, T']: the semantic RVQ's codes, then the acoustic RVQ's (both from the latents)."""
    n_sem = int(quantizer.num_semantic_quantizers)
    codes = _mimi_rvq(quantizer.semantic_residual_vector_quantizer, latents, n_sem)
    if n_q > n_sem:
        codes += _mimi_rvq(quantizer.acoustic_residual_vector_quantizer, latents, n_q - n_sem)
    return torch.stack(codes[:n_q], dim=1)
