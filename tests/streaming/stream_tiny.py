"""Tiny random-weight causal codecs for the streaming tests (built once per session)."""

from __future__ import annotations

import torch

import audiotok

from audio_fixtures import speechlike

# transformers' MimiConfig shrunk (as tests/codecs/test_mimi.py): a 10-step sliding window,
# so test audio of ~1 s (25 steps at 25 Hz) runs past it
TINY_MIMI = {
    "hidden_size": 16,
    "num_filters": 4,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "intermediate_size": 32,
    "codebook_size": 64,
    "codebook_dim": 16,
    "vector_quantization_hidden_dimension": 16,
    "upsample_groups": 16,
    "sliding_window": 10,
}


def build(name: str):
    if name == "mimi":
        return audiotok.load("mimi", pretrained=False, config=TINY_MIMI, seed=1)
    return audiotok.load(
        "encodec-24khz", pretrained=False, config={"n_filters": 4}, n_codebooks=8, device="cpu"
    )


def wav(seconds: float, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(speechlike(seconds, 24000, seed=seed))


def chunked(x: torch.Tensor, sizes) -> list[torch.Tensor]:
    """x cut into consecutive pieces of the given sizes (cycled), along the last axis."""
    out, i, k = [], 0, 0
    while i < x.shape[-1]:
        n = sizes[k % len(sizes)]
        out.append(x[..., i : i + n])
        i, k = i + n, k + 1
    return out
