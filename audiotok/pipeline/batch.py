"""The batch function: waveforms in, one array per item out. Pure: no I/O, no callbacks.

``TokenBatchFn(waves) -> [codes [K, T'] int64, ...]`` and ``FeatureBatchFn(waves) ->
[feats [L, T', D] float32, ...]`` (L = the extractor's layers, in order). Both are built from
a picklable recipe (``from_recipe``), so a worker process or a Ray actor can construct one.

Inside: files longer than the model's window go one by one through its windowed path
(``encode_long``); the rest run as one padded batch when the model promises that padding
does not change an item's output (``batch_exact``), otherwise as groups of equal length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _groups(lengths: Sequence[int], exact: bool) -> list[list[int]]:
    if exact:
        return [list(range(len(lengths)))] if lengths else []
    by_len: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        by_len.setdefault(n, []).append(i)
    return list(by_len.values())


def pad_waves(waves: Sequence[np.ndarray], idx: list[int] | None = None) -> tuple[Any, Any]:
    """``(batch [B, T_max] float32, lengths [B])`` of the waveforms ``idx`` (all by default),
    zero-padded at the end: the input every batch function gives a model."""
    import torch

    if idx is None:
        idx = list(range(len(waves)))

    lengths = torch.tensor([len(waves[i]) for i in idx])
    if len(idx) == 1:  # no padding: no copy (an hour at 44.1 kHz is 635 MB)
        return torch.from_numpy(np.asarray(waves[idx[0]])).view(1, -1), lengths
    batch = torch.zeros(len(idx), int(lengths.max()))
    for b, i in enumerate(idx):
        batch[b, : len(waves[i])] = torch.from_numpy(np.asarray(waves[i]))
    return batch, lengths


class TokenBatchFn:
    """Tokenizer -> codes per item. ``recipe``: what rebuilds it elsewhere (a Ray actor)."""

    target = "tokens"

    def __init__(self, tokenizer: Any):
        self.tok = tokenizer
        lw = tokenizer.long_window_seconds
        self.long_samples = int(lw * tokenizer.sample_rate) if lw else None

    @property
    def recipe(self) -> Any:
        return getattr(self.tok, "recipe", None)

    @classmethod
    def from_recipe(cls, recipe: Any, device: str = "cpu") -> TokenBatchFn:
        from audiotok.factory import build

        return cls(build(recipe, device=device))

    @property
    def sample_rate(self) -> int:
        return int(self.tok.sample_rate)

    @property
    def batch_exact(self) -> bool:
        return bool(self.tok.batch_exact)

    def num_frames(self, num_samples: int) -> int:
        return int(self.tok.num_frames(num_samples))

    def __call__(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        out: list[np.ndarray | None] = [None] * len(waves)
        short = []
        with torch.inference_mode():
            for i, w in enumerate(waves):
                if self.long_samples is not None and len(w) > self.long_samples:
                    x = torch.from_numpy(np.asarray(w)).view(1, 1, -1).to(self.tok.device)
                    codes, cl = self.tok.encode_long(x)
                    out[i] = codes[0, :, : int(cl[0])].cpu().numpy().astype(np.int64)
                else:
                    short.append(i)
            for group in _groups([len(waves[i]) for i in short], self.batch_exact):
                idx = [short[g] for g in group]
                batch, lengths = pad_waves(waves, idx)
                codes, cl = self.tok.encode_batch(batch.unsqueeze(1).to(self.tok.device), lengths)
                c = codes.cpu().numpy()
                for b, i in enumerate(idx):
                    out[i] = c[b, :, : int(cl[b])].astype(np.int64)
        return [o for o in out if o is not None]


class FeatureBatchFn:
    """Feature extractor -> features [L, T', D] per item (every selected layer).
    ``recipe`` (an ``ExtractorConfig``), where given, is what rebuilds it elsewhere."""

    target = "features"

    def __init__(self, extractor: Any, recipe: Any = None):
        self.ex = extractor
        self.recipe = recipe
        self.layers: list[int | None] = list(getattr(extractor, "layers", None) or [None])

    @classmethod
    def from_recipe(cls, recipe: Any, device: str = "cpu") -> FeatureBatchFn:
        from audiotok.factory import build

        return cls(build(recipe, device=device), recipe)

    @property
    def sample_rate(self) -> int:
        return int(self.ex.sample_rate)

    @property
    def batch_exact(self) -> bool:
        return bool(self.ex.batch_exact)

    def num_frames(self, num_samples: int) -> int:
        return int(self.ex.num_frames(num_samples))

    def __call__(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        out: list[np.ndarray | None] = [None] * len(waves)
        with torch.inference_mode():
            for group in _groups([len(w) for w in waves], self.batch_exact):
                batch, lengths = pad_waves(waves, group)
                batch = batch.to(self.ex.device)
                if hasattr(self.ex, "extract_layers"):  # windows long items itself
                    feats, fl = self.ex.extract_layers(batch, lengths)
                else:
                    f, fl = self.ex(batch, lengths)
                    feats = {None: f}
                stacked = torch.stack([feats[la] for la in self.layers], dim=1).float().cpu()
                arr = stacked.numpy()
                for b, i in enumerate(group):
                    out[i] = arr[b, :, : int(fl[b])]
        return [o for o in out if o is not None]
