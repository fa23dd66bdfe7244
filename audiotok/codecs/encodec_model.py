"""EnCodec's network for inference (our implementation, plain torch): SEANet + RVQ.

Facts from the ``encodec`` package 0.1.1 (facebookresearch/encodec, ``encodec/model.py``
``EncodecModel._get_model``, ``encodec_model_24khz`` / ``encodec_model_48khz``):

- SEANet encoder and decoder with the package's defaults: 32 filters, ratios 8, 5, 4, 2
  (hop 320), dimension 128, one residual layer, kernels 7/7/3, 2-layer unidirectional LSTM,
  ELU, reflection padding, a ``k=1`` conv shortcut;
- 24 kHz: mono, causal, weight norm, no normalisation, bandwidths 1.5/3/6/12/24 kbps;
- 48 kHz: stereo, non-causal, time group norm, audio normalised per 1 s segment,
  bandwidths 3/6/12/24 kbps;
- frame rate ``ceil(sample_rate / hop)``; ``n_q = 1000 * max bandwidth // (frame_rate * 10)``
  codebooks of 1024 entries (32 at 24 kHz, 16 at 48 kHz).

Module names follow the package, so the released ``.th`` state dicts load by key:
``encoder.model.N.*``, ``decoder.model.N.*`` (:mod:`audiotok.codecs.seanet`) and
``quantizer.vq.layers.{i}._codebook.{inited, cluster_size, embed, embed_avg}``
(:mod:`audiotok.codecs.rvq`). Codes are ``[B, K, T']`` throughout audiotok (the package's
quantizer returns ``[K, B, T']``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from audiotok.codecs.rvq import ResidualVQ
from audiotok.codecs.seanet import SEANetConfig, SEANetDecoder, SEANetEncoder

BINS = 1024


@dataclass(frozen=True)
class EncodecVariant:
    sample_rate: int
    channels: int
    causal: bool
    norm: str
    normalize: bool
    segment: float | None  # seconds
    bandwidths: tuple[float, ...]


VARIANTS = {
    "24khz": EncodecVariant(
        24000, 1, True, "weight_norm", False, None, (1.5, 3.0, 6.0, 12.0, 24.0)
    ),
    "48khz": EncodecVariant(48000, 2, False, "time_group_norm", True, 1.0, (3.0, 6.0, 12.0, 24.0)),
}


def seanet_config(variant: EncodecVariant, overrides: dict[str, Any] | None = None) -> SEANetConfig:
    """The package's SEANet defaults for ``variant``; ``overrides`` sets SEANetConfig fields
    (tests use ``{"n_filters": 4}``)."""
    fields = dict(
        channels=variant.channels,
        dimension=128,
        n_filters=32,
        ratios=[8, 5, 4, 2],
        bidirectional=False,
        causal=variant.causal,
        norm=variant.norm,
    )
    known = set(SEANetConfig.__dataclass_fields__)
    unknown = sorted(set(overrides or {}) - known)
    if unknown:
        raise ValueError(f"unknown EnCodec config key(s) {unknown}: use {sorted(known)}")
    return SEANetConfig(**{**fields, **(overrides or {})})


class EncodecQuantizer(nn.Module):
    """The residual quantiser under the package's key prefix ``quantizer.vq.*``."""

    def __init__(self, dimension: int, n_q: int, bins: int = BINS):
        super().__init__()
        self.vq = ResidualVQ(dimension, n_q, bins)
        self.dimension, self.n_q, self.bins = dimension, n_q, bins

    def encode(self, emb: torch.Tensor, n_q: int) -> torch.Tensor:
        """emb [B, D, T'] -> codes [B, n_q, T'] (the first stages: a prefix of more)."""
        return self.vq.encode(emb, n_q)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, K, T'] -> emb [B, D, T'] (the sum of the first K stages' entries)."""
        return self.vq.decode(codes)


class EncodecModel(nn.Module):
    """Encoder, quantizer and decoder of one EnCodec variant (no bandwidth state: callers
    pass the number of codebooks)."""

    def __init__(self, variant: str, config: dict[str, Any] | None = None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown EnCodec variant {variant!r}: {', '.join(VARIANTS)}")
        v = VARIANTS[variant]
        cfg = seanet_config(v, config)
        self.variant, self.seanet = variant, cfg
        self.encoder = SEANetEncoder(cfg)
        self.decoder = SEANetDecoder(cfg)
        self.sample_rate, self.channels = v.sample_rate, v.channels
        self.normalize, self.segment = v.normalize, v.segment
        self.target_bandwidths = list(v.bandwidths)
        self.frame_rate = math.ceil(v.sample_rate / cfg.hop_length)
        n_q = int(1000 * v.bandwidths[-1] // (self.frame_rate * 10))
        self.quantizer = EncodecQuantizer(cfg.dimension, n_q)
