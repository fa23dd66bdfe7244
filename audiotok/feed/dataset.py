"""The map-style dataset: random access to examples through the source's index (``get``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from audiotok.feed.collate import pad_collate
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.source import as_source, num_frames


def example_dict(utt_id: str, enc: Any) -> dict[str, Any]:
    """An Encoded -> ``{"id", "input_ids"}`` (or ``{"id", "ar", "nar"}``) + ``durations``."""
    out: dict[str, Any] = {"id": utt_id}
    if isinstance(enc.tokens, dict):
        out.update({k: torch.from_numpy(np.asarray(v)) for k, v in enc.tokens.items()})
    else:
        out["input_ids"] = torch.from_numpy(enc.tokens)
    if enc.durations is not None:
        out["durations"] = torch.from_numpy(enc.durations)
    return out


class TokenDataset(torch.utils.data.Dataset):
    """``ds[i]`` -> the i-th utterance's example (``source.get`` by id: random access).

    ``TokenDataset("tokens/", pattern="flatten", dedup=True)``; ``ids`` restricts and orders
    the utterances (a split). Batch with ``DataLoader(ds, batch_sampler=LengthBucketSampler(
    ds.lengths(), max_tokens=...), collate_fn=ds.collate)``.
    """

    def __init__(
        self,
        source: Any,
        encoder: FeedEncoder | None = None,
        *,
        pattern: str = "flatten",
        ids: Sequence[str] | None = None,
        **encoder_options: Any,
    ):
        self.source = as_source(source)
        self.encoder = encoder or FeedEncoder.for_source(self.source, pattern, **encoder_options)
        self.ids = list(ids) if ids is not None else self.source.ids()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        utt_id = self.ids[index]
        return example_dict(utt_id, self.encoder.encode(self.source.get(utt_id)))

    def lengths(self) -> np.ndarray:
        """Tokens per example (exact; an upper bound with dedup), for length bucketing."""
        frames = num_frames(self.source)
        return np.array([self.encoder.length(frames[i]) for i in self.ids], dtype=np.int64)

    def collate(self, examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return pad_collate(examples, self.encoder.pad_id)
