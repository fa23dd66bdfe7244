"""Seeded samples of a feature source that fit a memory budget, read out of core.

The budget bounds the sample buffer: ``max_frames = budget // (4 D + 8)`` (float32 features
plus room for one int64 row index per frame). The buffer is allocated once, at the size of
what was selected, and filled item by item from memory-mapped files (or from the extractor),
so nothing larger than the budget is ever held. Utterances are drawn in a seeded random
order and taken whole while they fit; rows of a plain [N, D] array are drawn uniformly
without replacement, block by block (sequential hypergeometric draws), so even the index
list stays within the budget. Beyond the budget: 8 bytes per utterance of the source for the
draw order (the source itself keeps 20 bytes per utterance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError

ROW_BLOCK = 1 << 16


@dataclass
class Sample:
    feats: np.ndarray  # [frames, D] float32
    items: list[int] = field(default_factory=list)  # indices of the items taken (utterances)
    total_frames: int = 0  # frames in the whole source

    @property
    def nbytes(self) -> int:
        return int(self.feats.nbytes)


def frames_for(budget_bytes: float, dim: int) -> int:
    return int(budget_bytes // (4 * dim + 8))


def budget(
    max_memory_gb: float,
    dim: int,
    *,
    max_hours: float | None = None,
    frame_rate: float | None = None,
) -> int:
    """Frames a training sample may hold: what ``max_memory_gb`` allows (float32 features
    plus an int64 per frame) and, with ``max_hours``, that many hours at ``frame_rate``."""
    if not max_memory_gb > 0:
        raise AudiotokError(f"--max-memory-gb must be positive, got {max_memory_gb}")
    max_frames = frames_for(max_memory_gb * 1e9, dim)
    if max_hours is not None:
        if not frame_rate:
            raise AudiotokError(
                "--max-hours on features that do not give their frame rate needs --frame-rate"
            )
        max_frames = min(max_frames, int(max_hours * 3600 * frame_rate))
    return max_frames


def working_memory_mb(k: int, dim: int, chunk: int = 16384) -> float:
    """k-means memory beyond the sample: one chunk's distances to all centroids, the
    centroid sums, and the chunk's copies."""
    return (chunk * k * 4 * 2 + k * dim * 8 + chunk * dim * 4 * 2) / 1e6


def describe_budget(max_frames: int, dim: int, budget_gb: float) -> str:
    gb = max_frames * 4 * dim / 1e9
    return (
        f"sample of at most {max_frames} frames x {dim} dims = {gb:.3g} GB "
        f"(budget {budget_gb:g} GB)"
    )


def sample(source: Any, *, max_frames: int, seed: int = 0, max_items: int | None = None) -> Sample:
    """Up to ``max_frames`` frames of ``source`` (whole items, seeded; rows for plain arrays)."""
    dim = source.info.dim
    if max_frames <= 0:
        raise AudiotokError("the memory budget does not hold a single frame: raise --max-memory-gb")
    rng = np.random.default_rng(seed)
    if getattr(source, "rows_are_items", False):
        return _sample_rows(source, max_frames, rng)
    lengths = source.lengths()
    order = rng.permutation(len(lengths))
    if max_items is not None:
        order = order[:max_items]
    chosen, total = [], 0
    for i in order:  # no .tolist(): a list of Python ints costs ~36 bytes per utterance
        n = int(lengths[i])
        if n and total + n <= max_frames:
            chosen.append(int(i))
            total += n
            if total == max_frames:
                break
    del order
    chosen.sort()  # read files front to back
    out = np.empty((total, dim), dtype=np.float32)
    pos = 0
    for i in chosen:
        x = source.read(i)
        out[pos : pos + len(x)] = x
        pos += len(x)
    return Sample(out, chosen, int(lengths.sum()))


def _sample_rows(source: Any, max_frames: int, rng: np.random.Generator) -> Sample:
    arr = source.arrays[0]
    n = int(arr.shape[0])
    m = min(n, max_frames)
    out = np.empty((m, arr.shape[1]), dtype=np.float32)
    pos, need = 0, m
    # index temporaries stay under ~2 bytes per sampled frame; at most ~4096 + 8 n / m blocks
    block = max(1, min(ROW_BLOCK, m // 8), n // 4096)
    for start in range(0, n, block):
        b = min(block, n - start)
        rest = n - start
        take = need if rest == b else int(rng.hypergeometric(b, rest - b, need)) if need else 0
        if take:
            if take == b:
                out[pos : pos + b] = arr[start : start + b]
            else:  # read only the chosen rows, straight into the buffer (no temporary)
                idx = np.sort(rng.choice(b, take, replace=False)) + start
                np.take(arr, idx, axis=0, out=out[pos : pos + take], mode="clip")
            pos += take
            need -= take
    assert pos == m
    return Sample(out, [0], n)
