"""Batching helpers: pad-and-mask collation, block-causal masks for packed contexts, and a
length-bucketed batch sampler for the map-style dataset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from audiotok.errors import AudiotokError

NOT_TOKENS = ("id", "durations", "frames")


def pad_collate(examples: Sequence[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Examples (dicts of ``id`` + token arrays ``[S]`` or ``[R, S]`` + optional ``durations``)
    -> one batch: every array padded on its last axis to the longest (tokens with ``pad_id``,
    durations with 0), a time mask per token key (``attention_mask`` for ``input_ids``,
    ``<key>_mask`` for the others, 1 = real), ``lengths`` and the ``ids``."""
    if not examples:
        raise AudiotokError("cannot collate an empty batch")
    out: dict[str, Any] = {"ids": [e.get("id") for e in examples]}
    for key in examples[0]:
        if key in ("id", "frames"):
            continue
        arrays = [np.asarray(e[key]) for e in examples]
        longest = max(a.shape[-1] for a in arrays)
        fill = 0 if key == "durations" else pad_id
        shape = (len(arrays), *arrays[0].shape[:-1], longest)
        padded = np.full(shape, fill, dtype=np.int64)
        mask = np.zeros((len(arrays), longest), dtype=np.int64)
        for i, a in enumerate(arrays):
            padded[i, ..., : a.shape[-1]] = a
            mask[i, : a.shape[-1]] = 1
        out[key] = torch.from_numpy(padded)
        if key not in NOT_TOKENS:
            out["attention_mask" if key == "input_ids" else f"{key}_mask"] = torch.from_numpy(mask)
            if key in ("input_ids", "ar"):
                out["lengths"] = torch.from_numpy(mask.sum(axis=1))
    return out


def block_causal_mask(doc_ids: torch.Tensor) -> torch.Tensor:
    """doc_ids [B, L] of a packed batch (-1 = padding) -> bool [B, L, L]: position i may attend
    to j when j <= i and both belong to the same document (True = attend)."""
    same = doc_ids[:, :, None] == doc_ids[:, None, :]
    length = doc_ids.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=doc_ids.device).tril()
    real = (doc_ids >= 0)[:, :, None]
    return same & causal & real


class LengthBucketSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of indices of similar length (less padding), shuffled by seed and epoch.

    Indices are sorted by length (ties broken at random), cut into batches of ``batch_size``
    examples or of at most ``max_tokens`` padded tokens (longest x count), and the batch order
    is shuffled. With several ranks, rank r takes batches r, r + world, ...; ``drop_last``
    drops the tail so that every rank has the same number of batches (DDP needs it).
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        *,
        batch_size: int | None = None,
        max_tokens: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ):
        if (batch_size is None) == (max_tokens is None):
            raise AudiotokError("give one of batch_size or max_tokens")
        if not 0 <= rank < world_size:
            raise AudiotokError(f"rank {rank} is not in 0..{world_size - 1}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size, self.max_tokens = batch_size, max_tokens
        if max_tokens is not None and len(self.lengths) and self.lengths.max() > max_tokens:
            raise AudiotokError(
                f"an example has {int(self.lengths.max())} tokens, more than max_tokens "
                f"{max_tokens}: raise max_tokens or crop the examples"
            )
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        n = len(self.lengths)
        tie = rng.permutation(n) if self.shuffle else np.arange(n)
        order = np.lexsort((tie, self.lengths))
        out: list[list[int]] = []
        cur: list[int] = []
        for i in order.tolist():
            if cur and self._full(cur, i):
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
        if self.shuffle:
            out = [out[j] for j in rng.permutation(len(out))]
        if self.drop_last:
            out = out[: len(out) - len(out) % self.world_size]
        return out[self.rank :: self.world_size]

    def _full(self, cur: list[int], nxt: int) -> bool:
        if self.batch_size is not None:
            return len(cur) >= self.batch_size
        assert self.max_tokens is not None
        return (len(cur) + 1) * int(self.lengths[nxt]) > self.max_tokens  # sorted: nxt longest

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())
