"""Random training segments of a :class:`~audiotok.train.corpus.CorpusIndex`, and their batch.

Item ``(epoch, i)`` of :class:`SegmentDataset` is ``segment_frames`` frames of training file
``i`` from a frame drawn from ``numpy.random.default_rng((seed, epoch, i))`` (so the draw
depends on neither worker processes nor order): the audio float32 ``[segment_frames * hop]``
and the per-frame array cut at the same frame (units as int64 ``[segment_frames]``, features
as float32 ``[segment_frames, D]``), under the name the trainer gives it, plus the file's
speaker index where the trainer has speakers. Files shorter than one segment are not trained
on (counted in ``skipped``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from audiotok.train.corpus import CorpusIndex


class SegmentDataset(Dataset):
    def __init__(
        self,
        index: CorpusIndex,
        items: list[int],
        segment_frames: int,
        seed: int,
        *,
        name: str,
        speaker_of: np.ndarray | None = None,
    ):
        self.index, self.segment, self.seed, self.name = index, segment_frames, seed, name
        self.items = [i for i in items if index.frames[i] >= segment_frames]
        self.skipped = len(items) - len(self.items)
        self.speaker_of = speaker_of
        self._maps: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        epoch, i = key
        utt = self.items[i]
        rng = np.random.default_rng((self.seed, epoch, i))
        start = int(rng.integers(0, int(self.index.frames[utt]) - self.segment + 1))
        if self._maps is None:
            self._maps = (self.index.audio_memmap(), self.index.frames_memmap())
        wav, frames = self.index.file(utt, *self._maps)
        hop = self.index.hop
        wav = wav[start * hop : (start + self.segment) * hop]
        frames = frames[start : start + self.segment]
        out: dict[str, Any] = {
            "audio": wav.float() / 32768.0,
            self.name: frames.long() if self.index.kind == "units" else frames.float(),
        }
        if self.speaker_of is not None:
            out["speaker"] = int(self.speaker_of[utt])
        return out


def collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stacked segments: audio ``[B, 1, T]``, per-frame arrays ``[B, N(, D)]``, speakers
    ``[B]``."""
    out: dict[str, torch.Tensor] = {}
    for k, v in items[0].items():
        if isinstance(v, torch.Tensor):
            out[k] = torch.stack([it[k] for it in items])
        else:
            out[k] = torch.tensor([it[k] for it in items], dtype=torch.long)
    out["audio"] = out["audio"][:, None]
    return out


class SegmentBatches:
    """What both training tasks share: their :class:`SegmentDataset` (``self.dataset``) cut
    into the step batches of a rank (``batch_size``, ``seed``, ``num_workers`` set by the
    task), resumable at ``start_step``."""

    dataset: SegmentDataset
    batch_size: int
    seed: int
    num_workers: int

    def batches(self, start_step: int, info: Any) -> Any:
        from audiotok.train.data import step_batches

        return step_batches(
            self.dataset,
            batch_size=self.batch_size,
            seed=self.seed,
            start_step=start_step,
            rank=info.rank,
            world_size=info.world_size,
            collate_fn=collate,
            num_workers=self.num_workers,
        )
