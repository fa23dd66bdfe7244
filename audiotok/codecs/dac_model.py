"""DAC's network for inference (our implementation, plain torch).

Facts from descript-audio-codec 1.0 (``dac/model/dac.py``, ``dac/nn/{layers,quantize}.py``),
checked against transformers' port (``models/dac/modeling_dac.py``):

- Encoder: a ``k=7`` conv to ``encoder_dim`` channels, then per stride an encoder block
  (three residual units of dilation 1, 3, 9, Snake, a conv of kernel ``2 s``, stride ``s``,
  padding ``ceil(s / 2)`` doubling the channels), Snake and a ``k=3`` conv to ``latent_dim``
  (default ``encoder_dim * 2 ** len(encoder_rates)``).
- Residual unit: Snake, ``k=7`` conv of dilation ``d`` and padding ``3 d``, Snake, ``k=1``
  conv, added to its input (same length).
- Decoder: a ``k=7`` conv to ``decoder_dim``, per stride Snake, a transposed conv of kernel
  ``2 s``, stride ``s``, padding ``ceil(s / 2)`` halving the channels, three residual units;
  Snake, a ``k=7`` conv to one channel, tanh.
- Quantiser: per codebook a ``k=1`` projection to ``codebook_dim`` (8), the nearest entry
  of the l2-normalised codebook to the l2-normalised projection (factorised, cosine codes),
  the *unnormalised* entry projected back by a ``k=1`` conv; residual over codebooks.
- Every conv is weight-normalised (``weight_g``, ``weight_v``); Snake has ``alpha`` per
  channel.

Module names are the package's, so released ``.pth`` state dicts load by key:
``encoder.block.N.block.M.block.K.*``, ``decoder.model.N.block.M.*``,
``quantizer.quantizers.{i}.{in_proj, out_proj}.*``, ``quantizer.quantizers.{i}.codebook.weight``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from audiotok.codecs.seanet import Snake1d, WNConv1d, WNConvTranspose1d


class ResidualUnit(nn.Module):
    def __init__(self, dim: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(dim),
            WNConv1d(dim, dim, kernel_size=7, dilation=dilation, padding=3 * dilation),
            Snake1d(dim),
            WNConv1d(dim, dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)  # the padding keeps the length: nothing to crop


def _residual_units(dim: int) -> list[nn.Module]:
    return [ResidualUnit(dim, d) for d in (1, 3, 9)]


class EncoderBlock(nn.Module):
    def __init__(self, dim: int, stride: int):
        super().__init__()
        self.block = nn.Sequential(
            *_residual_units(dim // 2),
            Snake1d(dim // 2),
            WNConv1d(dim // 2, dim, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Encoder(nn.Module):
    def __init__(self, dim: int, rates: list[int], latent_dim: int):
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(1, dim, kernel_size=7, padding=3)]
        for stride in rates:
            dim *= 2
            layers.append(EncoderBlock(dim, stride))
        layers += [Snake1d(dim), WNConv1d(dim, latent_dim, kernel_size=3, padding=1)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        pad = math.ceil(stride / 2)
        self.block = nn.Sequential(
            Snake1d(cin),
            WNConvTranspose1d(cin, cout, 2 * stride, stride=stride, padding=pad),
            *_residual_units(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Decoder(nn.Module):
    def __init__(self, latent_dim: int, dim: int, rates: list[int]):
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(latent_dim, dim, kernel_size=7, padding=3)]
        for i, stride in enumerate(rates):
            layers.append(DecoderBlock(dim // 2**i, dim // 2 ** (i + 1), stride))
        out = dim // 2 ** len(rates)
        layers += [Snake1d(out), WNConv1d(out, 1, kernel_size=7, padding=3), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)


class VectorQuantize(nn.Module):
    """One factorised, l2-normalised codebook (keys ``in_proj``, ``out_proj``, ``codebook``)."""

    def __init__(self, dim: int, codebook_size: int, codebook_dim: int):
        super().__init__()
        self.in_proj = WNConv1d(dim, codebook_dim, kernel_size=1)
        self.out_proj = WNConv1d(codebook_dim, dim, kernel_size=1)
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def encode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [B, D, T'] -> (codes [B, T'], the projected-back entries [B, D, T'])."""
        z_e = self.in_proj(z)
        b, d, t = z_e.shape
        enc = F.normalize(z_e.transpose(1, 2).reshape(b * t, d))
        cb = F.normalize(self.codebook.weight)
        # squared distance, expanded in upstream's order so near ties round alike
        dist = enc.pow(2).sum(1, keepdim=True) - 2 * enc @ cb.t() + cb.pow(2).sum(1)[None]
        codes = dist.argmin(1).view(b, t)
        z_q = self.lookup(codes)
        z_q = z_e + (z_q - z_e)  # upstream's straight-through sum: the same rounding
        return codes, self.out_proj(z_q)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, T'] -> the (unnormalised) entries [B, codebook_dim, T']."""
        return F.embedding(codes, self.codebook.weight).transpose(1, 2)


class ResidualVectorQuantize(nn.Module):
    def __init__(self, dim: int, n_codebooks: int, codebook_size: int, codebook_dim: int):
        super().__init__()
        self.quantizers = nn.ModuleList(
            [VectorQuantize(dim, codebook_size, codebook_dim) for _ in range(n_codebooks)]
        )

    def _vq(self, i: int) -> VectorQuantize:
        q = self.quantizers[i]
        assert isinstance(q, VectorQuantize)
        return q

    def encode(self, z: torch.Tensor, n_q: int) -> torch.Tensor:
        """z [B, D, T'] -> codes [B, n_q, T'] (the first stages: a prefix of more)."""
        residual, codes = z, []
        for i in range(n_q):
            c, z_q = self._vq(i).encode(residual)
            residual = residual - z_q
            codes.append(c)
        return torch.stack(codes, 1)

    def from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, K, T'] -> z [B, D, T'] (the sum of the first K stages)."""
        z: torch.Tensor | float = 0.0
        for i in range(codes.shape[1]):
            vq = self._vq(i)
            z = z + vq.out_proj(vq.lookup(codes[:, i]))
        assert isinstance(z, torch.Tensor)
        return z


class DAC(nn.Module):
    """The DAC network; constructor arguments are the release files' ``metadata.kwargs``."""

    def __init__(
        self,
        encoder_dim: int = 64,
        encoder_rates: list[int] | None = None,
        latent_dim: int | None = None,
        decoder_dim: int = 1536,
        decoder_rates: list[int] | None = None,
        n_codebooks: int = 9,
        codebook_size: int = 1024,
        codebook_dim: int = 8,
        sample_rate: int = 44100,
    ):
        super().__init__()
        encoder_rates = list(encoder_rates or [2, 4, 8, 8])
        decoder_rates = list(decoder_rates or [8, 8, 4, 2])
        latent_dim = latent_dim or encoder_dim * 2 ** len(encoder_rates)
        self.config = dict(  # the constructor's arguments, as a release file's kwargs
            encoder_dim=encoder_dim,
            encoder_rates=encoder_rates,
            latent_dim=latent_dim,
            decoder_dim=decoder_dim,
            decoder_rates=decoder_rates,
            n_codebooks=n_codebooks,
            codebook_size=codebook_size,
            codebook_dim=codebook_dim,
            sample_rate=sample_rate,
        )
        self.sample_rate, self.latent_dim = sample_rate, latent_dim
        self.hop_length = math.prod(encoder_rates)
        self.n_codebooks, self.codebook_size = n_codebooks, codebook_size
        self.encoder = Encoder(encoder_dim, encoder_rates, latent_dim)
        self.quantizer = ResidualVectorQuantize(
            latent_dim, n_codebooks, codebook_size, codebook_dim
        )
        self.decoder = Decoder(latent_dim, decoder_dim, decoder_rates)
