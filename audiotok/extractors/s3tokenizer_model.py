"""S3Tokenizer (CosyVoice's supervised semantic speech tokenizer) in plain torch.

Facts read from the reference package ``s3tokenizer`` 0.3.0 (Apache-2.0; ``model.py``,
``model_v2.py``, ``utils.py``), not its code:

- input: a 128-bin log-mel spectrogram at 100 frames/s (see :mod:`audiotok.extractors.s3tokenizer`);
- encoder: Whisper-style. Two 3-tap convolutions with GELU (``conv1`` stride 1 for the
  50 Hz v1 model, 2 for the 25 Hz models; ``conv2`` stride 2), padded frames zeroed before
  each; then 6 pre-LayerNorm blocks of 20-head attention (key without bias, queries and keys
  each scaled by ``head_dim ** -0.25``, padded keys biased by ``-1e10``) and a 4x GELU MLP;
- v1: sinusoidal positions (buffer ``encoder.positional_embedding``, 1500 x 1280) and a
  4096-entry codebook (``quantizer._codebook.embed``) searched by Euclidean distance after L2
  normalisation of the encoder output;
- v2: rotary positions on 64-d heads (theta 1e4, halves rotated), an FSMN memory per block
  (depthwise 31-tap convolution over the values, ``attn.fsmn_block.weight``, added to the
  attention output), and finite scalar quantisation: ``project_down`` (1280 -> 8), tanh,
  times 0.999, rounded to {-1, 0, 1}, digits + 1 read in base 3 (first digit least
  significant): 3**8 = 6561 codes.

Parameter names are the package's (its ``onnx2torch`` writes them), so its converted
checkpoints load with ``load_state_dict(strict=True)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class S3Config:
    version: int = 1  # 1: VQ codebook + sinusoids; 2: FSQ + rotary + FSMN
    stride: int = 1  # conv1 stride: 1 -> 50 Hz, 2 -> 25 Hz
    n_mels: int = 128
    n_ctx: int = 1500  # v1 positions
    n_state: int = 1280
    n_head: int = 20
    n_layer: int = 6
    codebook_size: int = 4096  # v1; v2 is 3**8
    fsmn_kernel: int = 31

    @property
    def frames_per_token(self) -> int:
        return 2 * self.stride


def _conv_len(n: torch.Tensor, stride: int) -> torch.Tensor:
    """Output length of a 3-tap convolution with padding 1."""
    return (n - 1) // stride + 1


def _valid(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """[B, width] True on the frames each row really has."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def _sinusoids(length: int, channels: int) -> torch.Tensor:
    half = channels // 2
    inv = torch.exp(-math.log(10000.0) / (half - 1) * torch.arange(half))
    angle = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([angle.sin(), angle.cos()], dim=1)


def _rotary(length: int, dim: int = 64, theta: float = 10000.0) -> tuple[torch.Tensor, ...]:
    """cos and sin tables [length, dim] (each frequency twice, once per half)."""
    freqs = 1.0 / theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim)
    angle = torch.outer(torch.arange(length).float(), freqs)
    angle = torch.cat([angle, angle], dim=-1)
    return angle.cos(), angle.sin()


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [B, T, H, D] rotated by position (the halves-swapped form)."""
    d = x.shape[-1] // 2
    swapped = torch.cat([-x[..., d:], x[..., :d]], dim=-1)
    return x * cos[None, :, None, :] + swapped * sin[None, :, None, :]


class Attention(nn.Module):
    def __init__(self, cfg: S3Config):
        super().__init__()
        d = cfg.n_state
        self.n_head = cfg.n_head
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d)
        self.out = nn.Linear(d, d)
        self.fsmn_block = (
            nn.Conv1d(d, d, cfg.fsmn_kernel, groups=d, bias=False) if cfg.version == 2 else None
        )
        self.fsmn_pad = (
            (cfg.fsmn_kernel - 1) // 2,
            cfg.fsmn_kernel - 1 - (cfg.fsmn_kernel - 1) // 2,
        )

    def forward(
        self,
        x: torch.Tensor,
        bias: torch.Tensor,
        valid: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        b, t, d = x.shape
        h = self.n_head
        q = self.query(x).view(b, t, h, -1)
        k = self.key(x).view(b, t, h, -1)
        v = self.value(x).view(b, t, h, -1)
        if rope is not None:
            q, k = _rotate(q, *rope), _rotate(k, *rope)
        scale = (d // h) ** -0.25
        scores = (q.permute(0, 2, 1, 3) * scale) @ (k.permute(0, 2, 3, 1) * scale)
        w = torch.softmax((scores + bias).float(), dim=-1).to(x.dtype)
        y = self.out((w @ v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3).reshape(b, t, d))
        if self.fsmn_block is None:
            return y
        keep = valid[:, :, None].to(x.dtype)  # [B, T, 1]
        vv = v.reshape(b, t, d) * keep
        mem = self.fsmn_block(F.pad(vv.transpose(1, 2), self.fsmn_pad)).transpose(1, 2)
        return y + (mem + vv) * keep


class Block(nn.Module):
    def __init__(self, cfg: S3Config):
        super().__init__()
        self.attn = Attention(cfg)
        self.attn_ln = nn.LayerNorm(cfg.n_state)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_state, 4 * cfg.n_state),
            nn.GELU(),
            nn.Linear(4 * cfg.n_state, cfg.n_state),
        )
        self.mlp_ln = nn.LayerNorm(cfg.n_state)

    def forward(self, x, bias, valid, rope):
        x = x + self.attn(self.attn_ln(x), bias, valid, rope)
        return x + self.mlp(self.mlp_ln(x))


class Encoder(nn.Module):
    positional_embedding: torch.Tensor

    def __init__(self, cfg: S3Config):
        super().__init__()
        self.cfg = cfg
        self.conv1 = nn.Conv1d(cfg.n_mels, cfg.n_state, 3, stride=cfg.stride, padding=1)
        self.conv2 = nn.Conv1d(cfg.n_state, cfg.n_state, 3, stride=2, padding=1)
        if cfg.version == 1:
            self.register_buffer("positional_embedding", _sinusoids(cfg.n_ctx, cfg.n_state))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))

    def forward(self, mel: torch.Tensor, mel_len: torch.Tensor):
        """mel [B, n_mels, T], lengths [B] -> hidden [B, T', n_state], lengths [B]."""
        n, width = mel_len, mel.shape[-1]
        x = mel * _valid(n, width)[:, None].to(mel.dtype)
        x = F.gelu(self.conv1(x))
        n = _conv_len(n, self.cfg.stride)
        x = x * _valid(n, x.shape[-1])[:, None].to(x.dtype)
        x = F.gelu(self.conv2(x))
        n = _conv_len(n, 2)
        valid = _valid(n, x.shape[-1])
        x = x.transpose(1, 2)
        bias = (~valid).to(x.dtype)[:, None, None, :] * -1.0e10
        rope = None
        if self.cfg.version == 1:
            if x.shape[1] > self.cfg.n_ctx:
                raise ValueError(f"{x.shape[1]} frames exceed the {self.cfg.n_ctx} positions")
            x = x + self.positional_embedding[: x.shape[1]].to(x.dtype)
        else:
            cos, sin = _rotary(x.shape[1], self.cfg.n_state // self.cfg.n_head)
            rope = (cos.to(x), sin.to(x))
        for block in self.blocks:
            x = block(x, bias, valid, rope)
        return x, n


class Codebook(nn.Module):
    """v1: nearest of ``embed`` [K, D] (Euclidean, after L2 normalisation)."""

    embed: torch.Tensor

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.register_buffer("embed", torch.zeros(size, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.normalize(x.float(), p=2, dim=-1)
        e = self.embed.float()
        dist = (x * x).sum(-1, keepdim=True) - 2 * x @ e.t() + (e * e).sum(-1)[None]
        return (-dist).argmax(dim=-1)


class FSQ(nn.Module):
    """v2: 8 ternary digits of a projection, read in base 3."""

    def __init__(self, dim: int, digits: int = 8):
        super().__init__()
        self.project_down = nn.Linear(dim, digits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = (torch.tanh(self.project_down(x).float()) * 0.999).round() + 1
        powers = 3.0 ** torch.arange(h.shape[-1], device=h.device, dtype=h.dtype)
        return (h * powers).sum(-1).long()


class Quantizer(nn.Module):
    def __init__(self, cfg: S3Config):
        super().__init__()
        self._codebook: nn.Module = (
            Codebook(cfg.codebook_size, cfg.n_state) if cfg.version == 1 else FSQ(cfg.n_state)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._codebook(x)


class S3TokenizerModel(nn.Module):
    """log-mel [B, 128, T] + lengths -> codes [B, T'] + lengths (at most 30 s per row)."""

    def __init__(self, cfg: S3Config):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = Quantizer(cfg)

    def forward(self, mel: torch.Tensor, mel_len: torch.Tensor):
        hidden, n = self.encoder(mel, mel_len)
        return self.quantizer(hidden), n
