"""The two whole-utterance normalisations of S3M models, made exact for padding and windows.

1. Waveform normalisation (fairseq ``task.normalize``; torchaudio's ``_normalize_waveform``):
   the large layer-norm models (HuBERT large/xlarge, wav2vec2 large-lv60, XLS-R, WavLM large,
   data2vec) were trained on ``layer_norm(wav)`` over the whole utterance (eps 1e-5). We take
   the statistics over the valid samples of each item only, or over the whole file when it is
   cut into windows (:func:`waveform_stats`), so padding and windowing cannot change them.
2. The first conv layer's ``GroupNorm(C, C)`` of the base models (``feat_extract_norm ==
   "group"``) normalises each channel over time. :class:`MaskedGroupNorm` replaces it and takes
   the statistics over the valid frames of each item (``lengths``), or uses statistics given
   for the whole file (``stats``) when the file is cut into windows. Valid output frames then
   never see padding, so a padded batch gives each file's features alone (to float rounding).
"""

from __future__ import annotations

import torch
from torch import nn

WAV_EPS = 1e-5


def conv_out_length(n: torch.Tensor | int, kernel: int, stride: int):
    """Frames of an unpadded conv: floor((n - kernel) / stride) + 1, never below 0."""
    if isinstance(n, torch.Tensor):
        return torch.clamp(torch.div(n - kernel, stride, rounding_mode="floor") + 1, min=0)
    return max(0, (n - kernel) // stride + 1)


def normalize_waveform(
    wav: torch.Tensor, lengths: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor] | None = None
) -> torch.Tensor:
    """Zero mean, unit variance per item over its valid samples (or with given mean/var)."""
    valid = torch.arange(wav.shape[1], device=wav.device)[None, :] < lengths[:, None].to(wav.device)
    if stats is None:
        n = lengths.to(wav.device, torch.float64).clamp(min=1)[:, None]
        x = torch.where(valid, wav.double(), 0.0)
        mean = x.sum(1, keepdim=True) / n
        var = (torch.where(valid, x - mean, 0.0) ** 2).sum(1, keepdim=True) / n
    else:
        mean, var = (s.to(wav.device, torch.float64).view(-1, 1) for s in stats)
    out = (wav.double() - mean) / torch.sqrt(var + WAV_EPS)
    return torch.where(valid, out, 0.0).to(wav.dtype)


def waveform_stats(wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (biased) variance of one whole waveform [T], in float64."""
    x = wav.double()
    mean = x.mean()
    return mean.view(1), ((x - mean) ** 2).mean().view(1)


class MaskedGroupNorm(nn.Module):
    """GroupNorm(C, C) over valid frames only; set ``lengths`` or ``stats`` before forward."""

    def __init__(self, gn: nn.GroupNorm):
        super().__init__()
        if gn.num_groups != gn.num_channels:
            raise ValueError("MaskedGroupNorm handles per-channel group norm only")
        self.eps = gn.eps
        self.weight = gn.weight
        self.bias = gn.bias
        self.lengths: torch.Tensor | None = None  # valid frames per item at this layer
        self.stats: tuple[torch.Tensor, torch.Tensor] | None = None  # (mean, var) [B, C]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [B, C, T]
        if self.stats is not None:
            mean, var = (s.to(x.device, torch.float32)[..., None] for s in self.stats)
        elif self.lengths is None:
            mean = x.mean(-1, keepdim=True)
            var = x.var(-1, unbiased=False, keepdim=True)
        else:
            t = torch.arange(x.shape[-1], device=x.device)
            m = (t[None, :] < self.lengths.to(x.device)[:, None]).to(x.dtype)[:, None, :]
            n = m.sum(-1, keepdim=True).clamp(min=1)
            mean = (x * m).sum(-1, keepdim=True) / n
            var = (((x - mean) * m) ** 2).sum(-1, keepdim=True) / n
        y = (x - mean) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight[None, :, None] + self.bias[None, :, None]
        return y
