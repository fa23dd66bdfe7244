"""SNAC's network for inference (our implementation, plain torch).

Facts read from the ``snac`` package 1.2.1 (hubertsiuzdak/snac, MIT: ``snac/snac.py``,
``snac/layers.py``, ``snac/vq.py``, ``snac/attention.py``):

- Encoder: a ``k=7`` conv to ``encoder_dim``; per stride ``s`` an encoder block doubling the
  channels (three residual units of dilation 1, 3, 9 with ``groups = channels`` when
  ``depthwise``, Snake, a conv of kernel ``2 s``, stride ``s``, padding ``ceil(s / 2)``);
  local windowed attention when ``attn_window_size`` is set; a ``k=7`` conv (depthwise when
  ``depthwise``).
- Decoder: a depthwise ``k=7`` conv and a ``k=1`` conv to ``decoder_dim`` (one ``k=7`` conv
  when not depthwise); local attention when set; per stride Snake, a transposed conv of
  kernel ``2 s``, stride ``s``, padding ``ceil(s / 2)``, output padding ``s % 2``, a noise
  block when ``noise`` (``x + randn(B, 1, T) * conv1x1(x)``, no bias), three residual units;
  Snake, a ``k=7`` conv to one channel, tanh.
- Residual unit: Snake, ``k=7`` conv of dilation ``d`` and padding ``3 d``, Snake, ``k=1``
  conv, added to its input.
- Local attention (``LocalMHA``): layer norm over channels, one bias-free linear to q, k, v,
  heads of 64 dimensions, non-overlapping windows of ``attn_window_size`` frames, rotary
  positions ``0 .. window - 1`` inside each window (buffer ``rel_pos.inv_freq``), a bias-free
  output linear, added to the input.
- Quantiser: ``len(vq_strides)`` stages; stage ``i`` average-pools the residual by
  ``vq_strides[i]``, projects it (``k=1``) to ``codebook_dim``, takes the nearest entry of
  the l2-normalised codebook to the l2-normalised projection, projects the unnormalised
  entry back and repeats it ``vq_strides[i]`` times; the residual is reduced by that.

Module names are the package's, so its state dicts load by key. Weight-normalised convs keep
``weight_g`` / ``weight_v`` (torch's parametrisation keys ``parametrizations.weight.original0``
/ ``original1`` are renamed on loading: :func:`audiotok.codecs.snac.load_state`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from audiotok.codecs.seanet import Snake1d, WNConv1d, WNConvTranspose1d


class ResidualUnit(nn.Module):
    def __init__(self, dim: int, dilation: int, groups: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(dim),
            WNConv1d(dim, dim, 7, dilation=dilation, padding=3 * dilation, groups=groups),
            Snake1d(dim),
            WNConv1d(dim, dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _units(dim: int, groups: int) -> list[nn.Module]:
    return [ResidualUnit(dim, d, groups) for d in (1, 3, 9)]


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, stride: int, groups: int):
        super().__init__()
        half = dim // 2
        self.block = nn.Sequential(
            *_units(half, groups),
            Snake1d(half),
            WNConv1d(half, dim, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class NoiseBlock(nn.Module):
    """``x + noise * linear(x)``; the noise comes from ``generator`` (set by the caller) so a
    decode is reproducible and leaves torch's global RNG alone."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear = WNConv1d(dim, dim, kernel_size=1, bias=False)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        noise = torch.randn((b, 1, t), generator=self.generator, dtype=x.dtype)
        return x + noise.to(x.device) * self.linear(x)


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, noise: bool, groups: int):
        super().__init__()
        pad = math.ceil(stride / 2)
        layers: list[nn.Module] = [
            Snake1d(cin),
            WNConvTranspose1d(cin, cout, 2 * stride, stride, pad, output_padding=stride % 2),
        ]
        if noise:
            layers.append(NoiseBlock(cout))
        self.block = nn.Sequential(*layers, *_units(cout, groups))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class SinusoidalEmbeddings(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim)))

    def forward(self, n: int) -> torch.Tensor:
        inv_freq: torch.Tensor = self.inv_freq  # type: ignore[assignment]
        t = torch.arange(n, device=inv_freq.device).type_as(inv_freq)
        freqs = t[:, None] * inv_freq[None]
        return torch.cat((freqs, freqs), dim=-1)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class LocalMHA(nn.Module):
    """Attention inside non-overlapping windows of ``window_size`` frames (the input length
    must be a multiple of it: SNAC pads its input so that it is)."""

    def __init__(self, dim: int, window_size: int, dim_head: int = 64):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.heads = dim // dim_head
        self.window_size = window_size
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.rel_pos = SinusoidalEmbeddings(dim_head)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        w, n, h = t // self.window_size, self.window_size, self.heads
        q, k, v = self.to_qkv(self.norm(x.transpose(1, 2))).chunk(3, dim=-1)
        # [B, T, H*D] -> [B, H, W, N, D]
        q, k, v = (z.reshape(b, w, n, h, -1).permute(0, 3, 1, 2, 4) for z in (q, k, v))
        freqs = self.rel_pos(n)
        cos, sin = freqs.cos(), freqs.sin()
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.permute(0, 2, 3, 1, 4).reshape(b, t, c)
        return self.to_out(out).transpose(1, 2) + x


class Encoder(nn.Module):
    def __init__(self, dim: int, strides: list[int], depthwise: bool, window: int | None):
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(1, dim, kernel_size=7, padding=3)]
        for stride in strides:
            dim *= 2
            layers.append(EncoderBlock(dim, stride, dim // 2 if depthwise else 1))
        if window is not None:
            layers.append(LocalMHA(dim, window))
        layers.append(WNConv1d(dim, dim, 7, padding=3, groups=dim if depthwise else 1))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Decoder(nn.Module):
    def __init__(
        self, cin: int, dim: int, rates: list[int], noise: bool, depthwise: bool, window: int | None
    ):
        super().__init__()
        layers: list[nn.Module]
        if depthwise:
            layers = [
                WNConv1d(cin, cin, kernel_size=7, padding=3, groups=cin),
                WNConv1d(cin, dim, kernel_size=1),
            ]
        else:
            layers = [WNConv1d(cin, dim, kernel_size=7, padding=3)]
        if window is not None:
            layers.append(LocalMHA(dim, window))
        out = dim
        for i, stride in enumerate(rates):
            cin_i, out = dim // 2**i, dim // 2 ** (i + 1)
            layers.append(DecoderBlock(cin_i, out, stride, noise, out if depthwise else 1))
        layers += [Snake1d(out), WNConv1d(out, 1, kernel_size=7, padding=3), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class VectorQuantize(nn.Module):
    def __init__(self, dim: int, codebook_size: int, codebook_dim: int, stride: int):
        super().__init__()
        self.stride = stride
        self.in_proj = WNConv1d(dim, codebook_dim, kernel_size=1)
        self.out_proj = WNConv1d(codebook_dim, dim, kernel_size=1)
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def encode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [B, D, T] -> (codes [B, T / stride], the quantised residual [B, D, T])."""
        if self.stride > 1:
            z = F.avg_pool1d(z, self.stride, self.stride)
        z_e = self.in_proj(z)
        b, d, t = z_e.shape
        enc = F.normalize(z_e.transpose(1, 2).reshape(b * t, d))
        cb = F.normalize(self.codebook.weight)
        # squared distance, expanded in upstream's order so that near ties round alike
        dist = enc.pow(2).sum(1, keepdim=True) - 2 * enc @ cb.t() + cb.pow(2).sum(1)[None]
        codes = (-dist).max(1)[1].view(b, t)
        z_q = z_e + (self.lookup(codes) - z_e)  # upstream's straight-through sum
        return codes, self.out_proj(z_q).repeat_interleave(self.stride, dim=-1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        return F.embedding(codes, self.codebook.weight).transpose(1, 2)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.lookup(codes)).repeat_interleave(self.stride, dim=-1)


class ResidualVectorQuantize(nn.Module):
    def __init__(self, dim: int, codebook_size: int, codebook_dim: int, strides: list[int]):
        super().__init__()
        self.quantizers = nn.ModuleList(
            [VectorQuantize(dim, codebook_size, codebook_dim, s) for s in strides]
        )

    def stages(self) -> list[VectorQuantize]:
        return [q for q in self.quantizers if isinstance(q, VectorQuantize)]

    def encode(self, z: torch.Tensor) -> list[torch.Tensor]:
        """z [B, D, T] -> one code tensor [B, T / stride_i] per stage."""
        residual, codes = z, []
        for vq in self.stages():
            c, z_q = vq.encode(residual)
            residual = residual - z_q
            codes.append(c)
        return codes

    def from_codes(self, codes: list[torch.Tensor]) -> torch.Tensor:
        z: torch.Tensor | float = 0.0
        for vq, c in zip(self.stages(), codes, strict=True):
            z = z + vq.decode(c)
        assert isinstance(z, torch.Tensor)
        return z


class SNAC(nn.Module):
    """The SNAC network; constructor arguments are the fields of a release's config.json."""

    def __init__(
        self,
        sampling_rate: int = 44100,
        encoder_dim: int = 64,
        encoder_rates: list[int] | None = None,
        latent_dim: int | None = None,
        decoder_dim: int = 1536,
        decoder_rates: list[int] | None = None,
        attn_window_size: int | None = 32,
        codebook_size: int = 4096,
        codebook_dim: int = 8,
        vq_strides: list[int] | None = None,
        noise: bool = True,
        depthwise: bool = True,
    ):
        super().__init__()
        encoder_rates = list(encoder_rates or [3, 3, 7, 7])
        decoder_rates = list(decoder_rates or [7, 7, 3, 3])
        self.vq_strides = list(vq_strides or [8, 4, 2, 1])
        latent_dim = latent_dim or encoder_dim * 2 ** len(encoder_rates)
        self.sample_rate, self.latent_dim = int(sampling_rate), latent_dim
        self.hop_length = math.prod(encoder_rates)
        self.attn_window_size = attn_window_size
        self.codebook_size = codebook_size
        self.encoder = Encoder(encoder_dim, encoder_rates, depthwise, attn_window_size)
        self.quantizer = ResidualVectorQuantize(
            latent_dim, codebook_size, codebook_dim, self.vq_strides
        )
        self.decoder = Decoder(
            latent_dim, decoder_dim, decoder_rates, noise, depthwise, attn_window_size
        )

    @property
    def pad_multiple(self) -> int:
        """Inputs are zero-padded on the right to a multiple of this many samples
        (``SNAC.preprocess``: hop x lcm(coarsest VQ stride, attention window))."""
        return self.hop_length * math.lcm(self.vq_strides[0], self.attn_window_size or 1)

    def set_noise(self, generator: torch.Generator | None) -> None:
        for m in self.decoder.modules():
            if isinstance(m, NoiseBlock):
                m.generator = generator
