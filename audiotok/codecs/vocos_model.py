"""Vocos (Siuzdak 2023, charactr-platform/vocos, MIT) in plain torch: features -> waveform.

Facts read from the reference package ``vocos`` 0.1.0 (``models.py``, ``modules.py``,
``heads.py``, ``spectral_ops.py``, ``pretrained.py``), not its code:

- backbone: a 7-tap convolution to ``dim``, a LayerNorm (eps 1e-6; for the EnCodec model an
  *adaptive* one whose scale and shift are embeddings of the bandwidth index), then
  ``num_layers`` ConvNeXt blocks (depthwise 7-tap convolution, (Ada)LayerNorm, Linear to
  ``intermediate_dim``, GELU, Linear back, per-channel ``gamma``, residual) and a final
  LayerNorm;
- head: Linear to ``n_fft + 2`` = log-magnitude and phase of ``n_fft // 2 + 1`` bins;
  magnitude ``exp`` clipped at 100; inverse STFT with a Hann window, ``center`` (torch's
  ``istft``) or ``same`` padding (overlap-add of the windowed inverse FFTs, ``(win - hop) / 2``
  trimmed from each side, divided by the summed squared window): ``hop`` samples per frame;
- EnCodec features: the sum of the embeddings of each codebook's code, codebook ``q`` at rows
  ``q * bins`` of ``feature_extractor.codebook_weights``;
- mel features: torchaudio ``MelSpectrogram`` (power 1, HTK scale, no norm), ``log`` of
  ``max(., 1e-7)``.

Parameter names are the package's, so its ``pytorch_model.bin`` loads by name.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AdaLayerNorm(nn.Module):
    """LayerNorm without affine weights, then a scale and shift picked by a condition id."""

    def __init__(self, num_embeddings: int, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.scale = nn.Embedding(num_embeddings, dim)
        self.shift = nn.Embedding(num_embeddings, dim)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x, (x.shape[-1],), eps=self.eps)
        return y * self.scale(cond) + self.shift(cond)


def _norm(dim: int, n_cond: int | None) -> nn.Module:
    return AdaLayerNorm(n_cond, dim) if n_cond else nn.LayerNorm(dim, eps=1e-6)


def _apply_norm(norm: nn.Module, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    if isinstance(norm, AdaLayerNorm):
        if cond is None:
            raise ValueError("this Vocos is conditioned: pass the bandwidth id")
        return norm(x, cond)
    return norm(x)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, intermediate_dim: int, scale: float, n_cond: int | None):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = _norm(dim, n_cond)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), scale))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        y = self.dwconv(x).transpose(1, 2)
        y = self.pwconv2(F.gelu(self.pwconv1(_apply_norm(self.norm, y, cond))))
        return x + (self.gamma * y).transpose(1, 2)


class Backbone(nn.Module):
    """features [B, C, T] -> hidden [B, T, dim]."""

    def __init__(
        self,
        input_channels: int,
        dim: int,
        intermediate_dim: int,
        num_layers: int,
        layer_scale_init_value: float | None = None,
        adanorm_num_embeddings: int | None = None,
    ):
        super().__init__()
        self.embed = nn.Conv1d(input_channels, dim, kernel_size=7, padding=3)
        self.norm = _norm(dim, adanorm_num_embeddings)
        scale = layer_scale_init_value or 1 / num_layers
        self.convnext = nn.ModuleList(
            ConvNeXtBlock(dim, intermediate_dim, scale, adanorm_num_embeddings)
            for _ in range(num_layers)
        )
        self.final_layer_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(x)
        x = _apply_norm(self.norm, x.transpose(1, 2), cond).transpose(1, 2)
        for block in self.convnext:
            x = block(x, cond)
        return self.final_layer_norm(x.transpose(1, 2))


class ISTFT(nn.Module):
    window: torch.Tensor

    def __init__(self, n_fft: int, hop_length: int, win_length: int, padding: str = "same"):
        super().__init__()
        if padding not in ("center", "same"):
            raise ValueError(f"padding must be 'center' or 'same', not {padding!r}")
        self.n_fft, self.hop, self.win, self.padding = n_fft, hop_length, win_length, padding
        self.register_buffer("window", torch.hann_window(win_length))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex spectrogram [B, n_fft // 2 + 1, T] -> waveform [B, samples]."""
        if self.padding == "center":
            return torch.istft(spec, self.n_fft, self.hop, self.win, self.window, center=True)
        frames = torch.fft.irfft(spec, self.n_fft, dim=1) * self.window[None, :, None]
        t = spec.shape[-1]
        size = (t - 1) * self.hop + self.win
        trim = (self.win - self.hop) // 2

        def overlap_add(x: torch.Tensor) -> torch.Tensor:
            out = F.fold(x, (1, size), kernel_size=(1, self.win), stride=(1, self.hop))
            return out[:, 0, 0, trim : size - trim]

        envelope = overlap_add(self.window.square()[None, :, None].expand(1, -1, t))
        return overlap_add(frames) / envelope


class ISTFTHead(nn.Module):
    def __init__(self, dim: int, n_fft: int, hop_length: int, padding: str = "same"):
        super().__init__()
        self.out = nn.Linear(dim, n_fft + 2)
        self.istft = ISTFT(n_fft, hop_length, n_fft, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        log_mag, phase = self.out(x).transpose(1, 2).chunk(2, dim=1)
        mag = log_mag.exp().clamp(max=100.0)
        return self.istft(torch.polar(mag, phase))


class VocosModel(nn.Module):
    """backbone + head; EnCodec models also hold ``codebook_weights`` (see ``features``)."""

    def __init__(self, backbone: Backbone, head: ISTFTHead, codebook_weights: torch.Tensor | None):
        super().__init__()
        self.feature_extractor = nn.Module()
        if codebook_weights is not None:
            self.feature_extractor.codebook_weights = nn.Parameter(
                codebook_weights, requires_grad=False
            )
        self.backbone = backbone
        self.head = head

    @property
    def codebook_table(self) -> torch.Tensor | None:
        """The EnCodec embeddings [n_q * bins, C], None for a mel Vocos."""
        table = getattr(self.feature_extractor, "codebook_weights", None)
        return table if isinstance(table, torch.Tensor) else None

    def codes_to_features(self, codes: torch.Tensor, bins: int) -> torch.Tensor:
        """codes [B, K, T] -> summed embeddings [B, C, T]."""
        table = self.codebook_table
        if table is None:
            raise ValueError("a mel Vocos has no codebook embeddings")
        offsets = torch.arange(codes.shape[1], device=codes.device) * bins
        return F.embedding(codes + offsets[None, :, None], table).sum(dim=1).transpose(1, 2)

    def forward(self, features: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.backbone(features, cond))
