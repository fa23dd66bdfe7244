"""XCodec2 (Ye et al. 2025, "Llasa"; HKUSTAudio/xcodec2) in plain torch, its key names.

Facts read from the reference package ``xcodec2`` 0.1.5 (``modeling_xcodec2.py``,
``vq/codec_encoder.py``, ``vq/codec_decoder_vocos.py``, ``vq/module.py``,
``vq/bs_roformer5.py``, ``vq/alias_free_torch``, ``vq/activations.py``) and from
vector-quantize-pytorch 1.17.8 (``ResidualFSQ``, ``FSQ``), not their code:

- ``CodecEnc``: a weight-normalised 7-tap convolution to ``ngf`` channels, then one block per
  stride (2, 2, 4, 4, 5: hop 320) that runs three residual units (anti-aliased SnakeBeta,
  7-tap dilated convolution at dilations 1, 3, 9, SnakeBeta, 1-tap convolution) and a
  strided convolution (kernel ``2 s``, padding ``s // 2 + s % 2``) doubling the channels;
  then SnakeBeta and a 3-tap convolution to 1024. "Anti-aliased": upsample x2 (Kaiser-sinc
  transposed convolution, 12 taps, replicate padding), SnakeBeta, low-pass and decimate x2.
- ``SemanticEncoder_module``: 3-tap convolution (no bias), then ``relu -> conv -> relu ->
  conv`` added to the *rectified* input (the package's first ReLU is in-place, so its skip
  connection adds ``relu(x)``), then a 3-tap convolution (no bias). Its input is layer 16 of
  w2v-BERT 2.0 (transformers' ``hidden_states[16]``).
- ``fc_prior`` (2048 -> 2048) on ``[semantic; acoustic]``, then ``generator.quantizer``: a
  one-stage residual FSQ of levels ``[4] * 8`` = 65,536 codes: ``project_in`` (2048 -> 8),
  the bound ``tanh`` applied twice (once by the residual wrapper, once by the FSQ stage),
  rounding; the code is ``sum_i digit_i * 4 ** i`` with ``digit_i = round + 2``.
- decoding: ``project_out`` (8 -> 2048) of the levels ``(digit - 2) / 2``, ``fc_post_a``
  (2048 -> 1024), ``generator.backbone`` (7-tap convolution, two ResNet blocks with group
  norms of 32 groups, 12 pre-RMSNorm transformer blocks, two ResNet blocks, LayerNorm) and the
  Vocos ISTFT head (n_fft 1280, hop 320, "same" padding).
- The transformer's rotary embedding (torchtune's, on tensors laid out ``[b, heads, t, d]``)
  rotates by the *head index*, not the time step; q and k of one head turn by one angle, which
  leaves their dot products unchanged. It is applied here as it is there, for float parity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations

from audiotok.codecs.vocos_model import ISTFTHead


@dataclass(frozen=True)
class XCodec2Config:
    """The released model's sizes (fixed in the package's code); tests shrink them."""

    ngf: int = 48
    strides: tuple[int, ...] = (2, 2, 4, 4, 5)
    dilations: tuple[int, ...] = (1, 3, 9)
    acoustic_dim: int = 1024
    semantic_dim: int = 1024  # w2v-BERT hidden size = the semantic adaptor's channels
    semantic_layer: int = 16
    decoder_dim: int = 1024
    decoder_depth: int = 12
    decoder_heads: int = 16
    rope_dim: int = 64
    fsq_levels: tuple[int, ...] = (4,) * 8
    # Wav2Vec2BertConfig fields: its defaults (facebook/w2v-bert-2.0's) cut to 16 layers, as
    # transformers' own Xcodec2Config builds its semantic model
    w2v: dict = field(default_factory=lambda: {"num_hidden_layers": 16})

    @property
    def hop(self) -> int:
        return math.prod(self.strides)

    @property
    def codebook_size(self) -> int:
        return math.prod(self.fsq_levels)


def wn_conv(*args, **kwargs) -> nn.Conv1d:
    return parametrizations.weight_norm(nn.Conv1d(*args, **kwargs), name="weight", dim=0)


def kaiser_sinc(cutoff: float, half_width: float, taps: int) -> torch.Tensor:
    """A low-pass filter [1, 1, taps]: Kaiser-windowed sinc, unit DC gain (even ``taps``)."""
    half = taps // 2
    attenuation = 2.285 * (half - 1) * math.pi * 4 * half_width + 7.95
    if attenuation > 50.0:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21.0:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21.0)
    else:
        beta = 0.0
    window = torch.kaiser_window(taps, periodic=False, beta=beta)
    t = torch.arange(-half, half) + 0.5
    h = 2 * cutoff * window * torch.sinc(2 * cutoff * t)
    return (h / h.sum()).view(1, 1, taps)


class SnakeBeta(nn.Module):
    """``x + sin(a x)^2 / b`` per channel, ``a = exp(alpha)``, ``b = exp(bias)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.alpha.exp()[None, :, None]
        b = self.bias.exp()[None, :, None]
        return x + (1.0 / (b + 1e-9)) * torch.sin(x * a).pow(2)


class _Up2(nn.Module):
    filter: torch.Tensor

    def __init__(self, taps: int = 12):
        super().__init__()
        self.pad = taps // 2 - 1
        self.trim_left = self.pad * 2 + (taps - 2) // 2
        self.trim_right = self.pad * 2 + (taps - 1) // 2
        self.register_buffer("filter", kaiser_sinc(0.25, 0.3, taps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        x = F.pad(x, (self.pad, self.pad), mode="replicate")
        y = 2 * F.conv_transpose1d(x, self.filter.expand(c, -1, -1), stride=2, groups=c)
        return y[..., self.trim_left : y.shape[-1] - self.trim_right]


class _LowPass(nn.Module):
    filter: torch.Tensor

    def __init__(self, taps: int = 12):
        super().__init__()
        self.pads = (taps // 2 - 1, taps // 2)
        self.register_buffer("filter", kaiser_sinc(0.25, 0.3, taps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        x = F.pad(x, self.pads, mode="replicate")
        return F.conv1d(x, self.filter.expand(c, -1, -1), stride=2, groups=c)


class _Down2(nn.Module):
    def __init__(self):
        super().__init__()
        self.lowpass = _LowPass()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lowpass(x)


class AntiAliasedSnake(nn.Module):
    """SnakeBeta at twice the rate: upsample, activate, downsample."""

    def __init__(self, channels: int):
        super().__init__()
        self.act = SnakeBeta(channels)
        self.upsample = _Up2()
        self.downsample = _Down2()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(self.act(self.upsample(x)))


class _ResidualUnit(nn.Module):
    def __init__(self, dim: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            AntiAliasedSnake(dim),
            wn_conv(dim, dim, 7, dilation=dilation, padding=3 * dilation),
            AntiAliasedSnake(dim),
            wn_conv(dim, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class _EncoderBlock(nn.Module):
    def __init__(self, dim: int, stride: int, dilations: tuple[int, ...]):
        super().__init__()
        half = dim // 2
        pad = stride // 2 + stride % 2
        self.block = nn.Sequential(
            *(_ResidualUnit(half, d) for d in dilations),
            AntiAliasedSnake(half),
            wn_conv(half, dim, 2 * stride, stride=stride, padding=pad),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class AcousticEncoder(nn.Module):
    """wav [B, 1, T] (T a multiple of the hop) -> [B, T / hop, acoustic_dim]."""

    def __init__(self, cfg: XCodec2Config):
        super().__init__()
        blocks: list[nn.Module] = [wn_conv(1, cfg.ngf, 7, padding=3)]
        dim = cfg.ngf
        for s in cfg.strides:
            dim *= 2
            blocks.append(_EncoderBlock(dim, s, cfg.dilations))
        self.conv_blocks = nn.Sequential(*blocks)
        self.conv_final_block = nn.Sequential(
            AntiAliasedSnake(dim), wn_conv(dim, cfg.acoustic_dim, 3, padding=1)
        )

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.conv_final_block(self.conv_blocks(wav)).transpose(1, 2)


class SemanticAdaptor(nn.Module):
    """w2v-BERT layer features [B, C, T'] -> [B, C, T'] (the package's SemanticEncoder)."""

    def __init__(self, dim: int):
        super().__init__()
        self.initial_conv = nn.Conv1d(dim, dim, 3, padding=1, bias=False)
        self.residual_blocks = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(dim, dim, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(dim, dim, 3, padding=1),
        )
        self.final_conv = nn.Conv1d(dim, dim, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.initial_conv(x))  # the skip adds the rectified input (see module doc)
        return self.final_conv(self.residual_blocks(h) + h)


class ResidualFSQ(nn.Module):
    """One FSQ stage between two projections: features [B, T, D] <-> codes [B, T]."""

    levels: torch.Tensor
    basis: torch.Tensor

    def __init__(self, dim: int, levels: tuple[int, ...]):
        super().__init__()
        self.project_in = nn.Linear(dim, len(levels))
        self.project_out = nn.Linear(len(levels), dim)
        lv = torch.tensor(levels)
        self.register_buffer("levels", lv, persistent=False)
        self.register_buffer("basis", torch.cumprod(torch.cat([lv.new_ones(1), lv[:-1]]), 0), False)

    def _bound(self, z: torch.Tensor) -> torch.Tensor:
        half_l = (self.levels - 1) * (1 + 1e-3) / 2
        offset = torch.where(self.levels % 2 == 0, 0.5, 0.0)
        return (z + (offset / half_l).atanh()).tanh() * half_l - offset

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self._bound(self._bound(self.project_in(x).float()))
        digits = z.round() + (self.levels // 2)
        return (digits * self.basis).sum(dim=-1).long()

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        digits = (codes[..., None] // self.basis) % self.levels
        half = self.levels // 2
        return self.project_out((digits - half) / half)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_by_head(x: torch.Tensor, rope_dim: int) -> torch.Tensor:
    """x [b, heads, t, d]: pairs ``(x[2i], x[2i+1])`` of head ``h`` turned by ``h * theta_i``,
    ``theta_i = 10000 ** (-2 i / rope_dim)`` (see the module doc)."""
    theta = 1.0 / 10000 ** (torch.arange(0, rope_dim, 2, device=x.device).float() / rope_dim)
    angle = torch.arange(x.shape[1], device=x.device).float()[:, None] * theta  # [heads, d/2]
    cos, sin = angle.cos()[None, :, None], angle.sin()[None, :, None]
    pairs = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    return torch.stack([a * cos - b * sin, b * cos + a * sin], -1).flatten(3).type_as(x)


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, rope_dim: int):
        super().__init__()
        self.heads, self.rope_dim = heads, rope_dim
        self.c_attn = nn.Linear(dim, 3 * dim, bias=False)
        self.c_proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k = rotate_by_head(q, self.rope_dim), rotate_by_head(k, self.rope_dim)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))


class _MLP(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim, bias=False)
        self.fc2 = nn.Linear(4 * dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.silu(self.fc1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, rope_dim: int):
        super().__init__()
        self.att_norm = RMSNorm(dim)
        self.ffn_norm = RMSNorm(dim)
        self.att = _Attention(dim, heads, rope_dim)
        self.mlp = _MLP(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.att(self.att_norm(x))
        return x + self.mlp(self.ffn_norm(x))


class ResnetBlock(nn.Module):
    """GroupNorm(32) -> swish -> 3-tap conv, twice, plus the input (channels unchanged)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(32, dim, eps=1e-6)
        self.conv1 = nn.Conv1d(dim, dim, 3, padding=1)
        self.norm2 = nn.GroupNorm(32, dim, eps=1e-6)
        self.conv2 = nn.Conv1d(dim, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(h)))


class DecoderBackbone(nn.Module):
    """[B, T', dim] -> [B, T', dim]."""

    def __init__(self, cfg: XCodec2Config):
        super().__init__()
        d = cfg.decoder_dim
        self.embed = nn.Conv1d(d, d, 7, padding=3)
        self.prior_net = nn.Sequential(ResnetBlock(d), ResnetBlock(d))
        self.transformers = nn.Sequential(
            *(
                TransformerBlock(d, cfg.decoder_heads, cfg.rope_dim)
                for _ in range(cfg.decoder_depth)
            )
        )
        self.post_net = nn.Sequential(ResnetBlock(d), ResnetBlock(d))
        self.final_layer_norm = nn.LayerNorm(d, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prior_net(self.embed(x.transpose(1, 2)))
        x = self.transformers(x.transpose(1, 2))
        x = self.post_net(x.transpose(1, 2))
        return self.final_layer_norm(x.transpose(1, 2))


class Generator(nn.Module):
    def __init__(self, cfg: XCodec2Config):
        super().__init__()
        self.quantizer = ResidualFSQ(cfg.semantic_dim + cfg.acoustic_dim, cfg.fsq_levels)
        self.backbone = DecoderBackbone(cfg)
        self.head = ISTFTHead(cfg.decoder_dim, 4 * cfg.hop, cfg.hop, padding="same")


class XCodec2(nn.Module):
    """Everything but the w2v-BERT model (``semantic_model``), which
    :class:`audiotok.codecs.xcodec2.XCodec2Codec` holds beside it."""

    def __init__(self, cfg: XCodec2Config):
        super().__init__()
        self.cfg = cfg
        both = cfg.semantic_dim + cfg.acoustic_dim
        self.SemanticEncoder_module = SemanticAdaptor(cfg.semantic_dim)
        self.CodecEnc = AcousticEncoder(cfg)
        self.generator = Generator(cfg)
        self.fc_prior = nn.Linear(both, both)
        self.fc_post_a = nn.Linear(both, cfg.decoder_dim)

    def quantize(self, semantic: torch.Tensor, wav: torch.Tensor) -> torch.Tensor:
        """semantic features [B, T', C] and wav [B, 1, T' * hop] -> codes [B, T']."""
        sem = self.SemanticEncoder_module(semantic.transpose(1, 2))
        acoustic = self.CodecEnc(wav).transpose(1, 2)
        n = min(sem.shape[-1], acoustic.shape[-1])
        joint = torch.cat([sem[..., :n], acoustic[..., :n]], dim=1)
        return self.generator.quantizer.encode(self.fc_prior(joint.transpose(1, 2)))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, T'] -> wav [B, T' * hop]."""
        x = self.fc_post_a(self.generator.quantizer.decode(codes))
        return self.generator.head(self.generator.backbone(x))
