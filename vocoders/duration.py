"""Durations of deduplicated units: the predictor, runs, expansion.

The predictor is speech-resynthesis' ``VariancePredictor`` (facebookresearch/speech-resynthesis
``examples/speech_to_speech_translation/models.py``, also fairseq ``fastspeech2.py``): over the
unit embeddings ``[B, N, C]``, Conv1d (kernel k, ``same`` padding) -> ReLU -> LayerNorm ->
dropout, twice, then Linear to one value: the predicted ``log(d + 1)`` of each run's duration
``d`` in frames. ``DurationCodeGenerator`` trains it with the MSE between that and
``log(d + 1)`` of the runs in each training segment, leaving out the first and last run (cut by
the segment edges) when there are more than two; at inference the duration is
``max(1, round(exp(pred) - 1))``. Padding is masked before each conv, as in the generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DurationPredictor(nn.Module):
    def __init__(
        self, in_dim: int, hidden_dim: int = 128, kernel_size: int = 3, dropout: float = 0.5
    ):
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.conv1 = nn.Conv1d(in_dim, hidden_dim, kernel_size, padding=pad)
        self.ln1 = nn.LayerNorm(hidden_dim)
        self.conv2 = nn.Conv1d(hidden_dim, hidden_dim, kernel_size, padding=pad)
        self.ln2 = nn.LayerNorm(hidden_dim)
        self.proj = nn.Linear(hidden_dim, 1)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, N, C], mask [B, N] (True = valid) -> predicted log(d + 1) [B, N]."""
        m = None if mask is None else mask.unsqueeze(-1).to(x.dtype)
        for conv, ln in ((self.conv1, self.ln1), (self.conv2, self.ln2)):
            x = x if m is None else x * m
            x = F.relu(conv(x.transpose(1, 2))).transpose(1, 2)
            x = F.dropout(ln(x), p=self.dropout, training=self.training)
        return self.proj(x).squeeze(-1)


def to_durations(log_pred: torch.Tensor) -> torch.Tensor:
    """Predicted log(d + 1) -> whole durations >= 1 (LongTensor)."""
    return torch.clamp(torch.round(torch.exp(log_pred) - 1), min=1).long()


def runs(units: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One unit sequence [T] -> (deduplicated units [N], run lengths [N])."""
    values, counts = torch.unique_consecutive(units, return_counts=True)
    return values, counts


def segment_runs(
    units: torch.Tensor, trim_edges: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Units [B, T] -> padded run units [B, N], run lengths [B, N], mask [B, N].

    ``trim_edges`` drops each row's first and last run when it has more than two, as
    speech-resynthesis does for random segments whose edges cut runs.
    """
    vals, cnts = [], []
    for row in units:
        v, c = runs(row)
        if trim_edges and len(v) > 2:
            v, c = v[1:-1], c[1:-1]
        vals.append(v)
        cnts.append(c)
    n = max(len(v) for v in vals)
    out_v = units.new_zeros(len(vals), n)
    out_c = units.new_zeros(len(vals), n)
    mask = torch.zeros(len(vals), n, dtype=torch.bool, device=units.device)
    for i, (v, c) in enumerate(zip(vals, cnts, strict=True)):
        out_v[i, : len(v)], out_c[i, : len(c)], mask[i, : len(v)] = v, c, True
    return out_v, out_c, mask


def expand(
    units: torch.Tensor, durations: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat each unit by its duration. units, durations [B, N]; lengths [B] (valid N) ->
    (units [B, T], frame lengths [B]); durations past an item's length are ignored."""
    rows = []
    for b in range(units.shape[0]):
        n = int(lengths[b])
        rows.append(torch.repeat_interleave(units[b, :n], durations[b, :n].clamp_min(0)))
    out_lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    out = units.new_zeros(len(rows), int(out_lengths.max()) if rows else 0)
    for b, r in enumerate(rows):
        out[b, : len(r)] = r
    return out, out_lengths
