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

import weakref
from typing import Any

import torch

# id(codebook tensor) -> (weak reference to it, data pointer, version, float64 copy, squared
# norms): streaming quantizes a frame or two per call, where converting a 2048 x 256 codebook
# each time cost more than the search itself
_CACHE: dict[int, tuple[Any, int, int, torch.Tensor, torch.Tensor]] = {}
_CACHE_SIZE = 512


def _version(t: torch.Tensor) -> int:
    try:
        return int(t._version)
    except RuntimeError:  # an inference tensor (made under inference_mode) has no counter
        return -1


def _float64(embed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ptr, version = embed.data_ptr(), _version(embed)
    hit = _CACHE.get(id(embed))
    if hit is not None and hit[0]() is embed and hit[1:3] == (ptr, version):
        return hit[3], hit[4]
    e = embed.detach().double()
    norms = e.pow(2).sum(1)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[id(embed)] = (weakref.ref(embed), ptr, version, e, norms)
    return e, norms


def nearest(x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
    """x[..., D], embed[N, D] -> index of the nearest entry, LongTensor[...]."""
    e, norms = _float64(embed)
    flat = x.reshape(-1, x.shape[-1]).double()
    d = norms[None] - 2 * flat @ e.T
    return d.argmin(dim=1).view(x.shape[:-1])


def encodec_codes(vq: Any, emb: torch.Tensor, n_q: int) -> torch.Tensor:
    """EnCodec's residual quantiser (``quantizer.vq``: audiotok's ``ResidualVQ``, or the
    encodec package's ``ResidualVectorQuantization``) over emb[B, D, T'] -> codes[B, K, T']."""
    residual = emb
    codes = []
    for layer in vq.layers[:n_q]:
        x = residual.transpose(1, 2)
        project_in = getattr(layer, "project_in", None)  # the package's (an identity)
        idx = nearest(project_in(x) if project_in is not None else x, layer._codebook.embed)
        residual = residual - layer.decode(idx)
        codes.append(idx)
    return torch.stack(codes, dim=1)


def encodec_quantize(model: Any, emb: torch.Tensor, n_q: int, chunk: int = 3000) -> torch.Tensor:
    """An EnCodec model's emb[B, D, T'] -> codes[B, K, T'], ``chunk`` frames at a time (memory
    bounded by chunk x codebook size). Residual stages are sequential: the first K codes do not
    depend on later stages, nor a frame's codes on the frames quantized with it."""
    pieces = [
        encodec_codes(model.quantizer.vq, emb[..., i : i + chunk], n_q)
        for i in range(0, emb.shape[-1], chunk)
    ]
    return torch.cat(pieces, dim=-1).long()


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
