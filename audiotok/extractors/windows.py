"""Long audio: overlapping windows whose kept frames are stitched into the whole-file features.

Window ``j`` keeps output frames ``[j H, (j + 1) H)`` and computes them from frames
``[j H - C, (j + 1) H + C)`` (clipped to the file), i.e. from samples
``[a S, (b - 1) S + R)`` where S is the conv stack's total stride and R its receptive field
(HuBERT: 320 and 400). Windows start on a multiple of S, so the CNN computes exactly the
whole-file frames. Whole-file statistics are used where the model normalises over the
utterance: the waveform normalisation (mean/variance of the whole file) and the first conv's
group norm (per-channel statistics accumulated over the file in a first streaming pass). So:

- the CNN features, and layer 0 (which adds the convolutional position embedding, a local
  conv of +-64 frames for HuBERT/wav2vec2), equal the unchunked ones to float rounding once
  C covers the position conv;
- transformer layers attend over the whole input, so no finite window reproduces them
  exactly: the error shrinks as C grows (measured in tests/extractors/test_windows.py and
  the docs). Default H = 40 s, C = 10 s: memory is bounded by a 60 s window.

Windowing is a function of the file alone, so a file's features are the same whether it is
extracted alone, in a batch, or through ``encode_long``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from audiotok.extractors.norms import waveform_stats

# ``ex`` below is an ``audiotok.extractors.s3m.S3MExtractor``; it is typed ``Any`` because s3m
# imports this module (an import back, even for typing, would close a cycle).
S3M = Any


def plan(num_frames: int, hop: int, context: int) -> list[tuple[int, int, int, int]]:
    """[(a, b, keep_a, keep_b)]: compute frames [a, b), keep [keep_a, keep_b)."""
    out = []
    for keep_a in range(0, num_frames, hop):
        keep_b = min(num_frames, keep_a + hop)
        out.append((max(0, keep_a - context), min(num_frames, keep_b + context), keep_a, keep_b))
    return out


def group_norm_stats(
    ex: S3M, wav: torch.Tensor, wav_stats, segment_frames: int = 100_000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean/variance of the first conv's output over the whole file, streamed."""
    from audiotok.extractors.norms import normalize_waveform

    conv = ex.model.feature_extractor.conv_layers[0].conv
    k, s = ex.convs[0]
    n_total = max(0, (wav.shape[0] - k) // s + 1)
    total = torch.zeros(conv.out_channels, dtype=torch.float64, device=ex.device)
    total_sq = torch.zeros_like(total)
    with torch.no_grad():
        for f0 in range(0, n_total, segment_frames):
            f1 = min(n_total, f0 + segment_frames)
            seg = wav[f0 * s : (f1 - 1) * s + k].to(ex.device, torch.float32)[None]
            if ex.normalize:
                seg = normalize_waveform(seg, torch.tensor([seg.shape[1]]), wav_stats)
            y = conv(seg[:, None]).double()[0]  # [C, f1 - f0]
            total += y.sum(-1)
            total_sq += (y * y).sum(-1)
    mean = total / max(n_total, 1)
    var = (total_sq / max(n_total, 1) - mean * mean).clamp(min=0)
    return mean[None].float(), var[None].float()


def window_features(
    ex: S3M, wav: torch.Tensor, hop_s: float | None = None, context_s: float | None = None
) -> Iterator[tuple[int, dict[int, torch.Tensor]]]:
    """One file wav[T] -> yields (first kept frame, {layer: feats[n, D]}) window by window."""
    hop = max(1, round((ex.window_seconds if hop_s is None else hop_s) * ex.frame_rate))
    ctx = max(0, round((ex.context_seconds if context_s is None else context_s) * ex.frame_rate))
    n = ex.num_frames(wav.shape[0])
    wav_stats = waveform_stats(wav) if ex.normalize else None
    gn_stats = group_norm_stats(ex, wav, wav_stats) if ex.masked_gn is not None else None
    S, R = ex.stride, ex.receptive_field
    for a, b, ka, kb in plan(n, hop, ctx):
        s0, s1 = a * S, (b - 1) * S + R
        feats, _ = ex.forward_layers(wav[None, s0:s1], torch.tensor([s1 - s0]), wav_stats, gn_stats)
        yield ka, {layer: f[0, ka - a : kb - a] for layer, f in feats.items()}
