"""Specs and random codes shared by the feed tests (imported as a module: unique name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiotok.spec import TokenSpec

SEM = TokenSpec("semantic", "hubert-km50", 16000, 50.0, 1, 50, layer=6, semantic_codebooks=(0,))
ACU = TokenSpec("acoustic", "codec-4x64", 24000, 75.0, 4, 64)


def random_items(spec: TokenSpec, n: int, seed: int = 0, min_t: int = 0, max_t: int = 40):
    rng = np.random.default_rng(seed)
    return {
        f"spk{i % 3}/utt{i:03d}": rng.integers(
            0, spec.codebook_size, size=(spec.num_codebooks, int(rng.integers(min_t, max_t + 1)))
        )
        for i in range(n)
    }


def write_store(directory: Path, spec: TokenSpec, items: dict, shard_size: int = 4) -> Path:
    """A token store written with the store writer (``TokenWriter``)."""
    from audiotok.store import TokenWriter

    w = TokenWriter(directory, spec, shard_size=shard_size)
    for uid, codes in items.items():
        c = np.asarray(codes)
        w.add(uid, f"{uid}.wav", c.shape[-1] / spec.frame_rate, c)
    w.close()
    return directory
