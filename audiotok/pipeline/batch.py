"""The batch function: waveforms in, one array per item out. Pure: no I/O, no callbacks.

``TokenBatchFn(waves) -> [codes [K, T'] int64, ...]`` and ``FeatureBatchFn(waves) ->
[feats [L, T', D] float32, ...]`` (L = the extractor's layers, in order). Both are built from
a picklable recipe (``from_recipe``), so a worker process or a Ray actor can construct one.

Inside: files longer than the model's window go one by one through its windowed path
(``encode_long``). The rest follow the batching policy (``TokenBatchFn.batching``, recorded
in the store's run record):

- ``"padded"``: one padded batch, where the model's padded batches give each file its codes
  alone on this device (``batch_exact``, measured by tests/codecs/test_batch_exact.py);
- ``"windows"``: where they do not but the model has a finite context (``batch_windows``:
  DAC), files zero-padded to whole frames are cut into windows of ONE length
  (:func:`audiotok.codecs.windows.equal_windows`), the windows of all files run together
  without padding and each file's codes are stitched from its windows' middles: the codes of
  a file do not depend on its batch, and equal its whole-file codes up to float rounding;
  files shorter than one window run in groups of equal length;
- ``"lengths"``: groups of equal length (EnCodec 24 kHz, whose LSTM sees the whole file;
  Mimi; S3Tokenizer);
- ``"items"``: one file at a time, where even files of one length batch inexactly
  (``Codec.equal_lengths_exact``: SpeechTokenizer and the hybrid students on the CPU).
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


WINDOWS_PER_CALL = 64  # windows through the model at once (memory bound)


class TokenBatchFn:
    """Tokenizer -> codes per item. ``recipe``: what rebuilds it elsewhere (a Ray actor)."""

    target = "tokens"

    def __init__(self, tokenizer: Any):
        self.tok = tokenizer
        lw = tokenizer.long_window_seconds
        self.long_samples = int(lw * tokenizer.sample_rate) if lw else None
        windows = getattr(tokenizer, "batch_windows", None)
        self.windows = None if tokenizer.batch_exact or windows is None else windows()

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
    def batching(self) -> str:
        """``"padded"``, ``"windows"``, ``"lengths"`` or ``"items"`` (see the module doc)."""
        if self.tok.batch_exact:
            return "padded"
        if self.windows is not None:
            return "windows"
        return "lengths" if getattr(self.tok, "equal_lengths_exact", True) else "items"

    @property
    def batch_exact(self) -> bool:
        """Whether a batch of files of different lengths gives each file the codes it gets
        alone (the engine then mixes lengths in a batch)."""
        return self.batching in ("padded", "windows")

    def num_frames(self, num_samples: int) -> int:
        return int(self.tok.num_frames(num_samples))

    def __call__(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        out: list[np.ndarray | None] = [None] * len(waves)
        short = []
        windowed = []
        with torch.inference_mode():
            for i, w in enumerate(waves):
                if self.long_samples is not None and len(w) > self.long_samples:
                    x = torch.from_numpy(np.asarray(w)).view(1, 1, -1).to(self.tok.device)
                    codes, cl = self.tok.encode_long(x)
                    out[i] = codes[0, :, : int(cl[0])].cpu().numpy().astype(np.int64)
                elif self.windows is not None and len(w) >= self.windows[0] + 2 * self.windows[1]:
                    windowed.append(i)
                else:
                    short.append(i)
            if windowed:
                codes_of = self._windowed([waves[i] for i in windowed])
                for i, codes in zip(windowed, codes_of, strict=True):
                    out[i] = codes
            # files shorter than one window (under "windows") run in groups of equal length
            for group in _groups([len(waves[i]) for i in short], self.batching == "padded"):
                idx = [short[g] for g in group]
                batch, lengths = pad_waves(waves, idx)
                codes, cl = self.tok.encode_batch(batch.unsqueeze(1).to(self.tok.device), lengths)
                c = codes.cpu().numpy()
                for b, i in enumerate(idx):
                    out[i] = c[b, :, : int(cl[b])].astype(np.int64)
        return [o for o in out if o is not None]

    def _windowed(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Codes of each file from windows of one length, all files' windows batched."""
        import torch

        from audiotok.codecs.windows import equal_windows, round_up

        window, context = self.windows or (0, 0)
        hop = int(self.tok.hop_length)
        size = window + 2 * context
        files = []
        cuts = []  # (file, a, s, e)
        for f, w in enumerate(waves):
            x = torch.zeros(round_up(len(w), hop))  # the file alone is padded to whole frames
            x[: len(w)] = torch.from_numpy(np.asarray(w))
            files.append(x)
            cuts += [(f, a, s, e) for a, s, e in equal_windows(len(x), window, context)]
        pieces: list[list[np.ndarray]] = [[] for _ in waves]
        for start in range(0, len(cuts), WINDOWS_PER_CALL):
            part = cuts[start : start + WINDOWS_PER_CALL]
            batch = torch.stack([files[f][a : a + size] for f, a, _, _ in part]).unsqueeze(1)
            lengths = torch.full((len(part),), size)
            codes, _ = self.tok.encode_batch(batch.to(self.tok.device), lengths)
            c = codes.cpu().numpy()
            for b, (f, a, s, e) in enumerate(part):
                pieces[f].append(c[b, :, (s - a) // hop : (e - a) // hop])
        return [np.concatenate(p, axis=-1).astype(np.int64) for p in pieces]


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
