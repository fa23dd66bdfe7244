"""WavTokenizer (Ji et al. 2024, jishengpeng/WavTokenizer, MIT) in plain torch, its key names.

Facts read from the repository's code (``decoder/pretrained.py``, ``decoder/models.py``,
``decoder/feature_extractors.py``, ``decoder/heads.py``, ``encoder/quantization/``) and its
configs (``configs/wavtokenizer_smalldata_frame{40,75}_3s_nq1_code4096_dim512_kmeans200_attn
.yaml``), not its code:

- ``feature_extractor.encodec.encoder``: EnCodec's SEANet encoder (32 filters, one residual
  layer, a 2-layer unidirectional LSTM, ELU, weight norm, reflection padding, non-causal) to
  512 channels, downsampling ratios ``[6, 5, 5, 4]`` (hop 600, 40 Hz) or ``[8, 5, 4, 2]``
  (hop 320, 75 Hz), applied in reverse order as EnCodec does
  (:class:`audiotok.codecs.seanet.SEANetEncoder`); ``ceil(T / hop)`` frames;
- ``feature_extractor.encodec.quantizer.vq.layers.0._codebook``: one codebook of 4096 x 512,
  nearest entry by squared distance; the decoder's input is the entry itself;
- ``backbone``: Vocos's backbone (7-tap convolution, AdaLayerNorm, ConvNeXt blocks,
  final LayerNorm: :class:`audiotok.codecs.vocos_model.Backbone`) with ``pos_net`` between
  the first convolution and the first norm: two ResNet blocks (GroupNorm of 32 groups, swish,
  3-tap convolution, twice), one single-head self-attention block over time (GroupNorm, 1x1
  q/k/v/out convolutions, softmax of ``q k / sqrt(C)``, residual), two ResNet blocks and a
  GroupNorm. Inference conditions the AdaLayerNorms on bandwidth id 0;
- ``head``: Vocos's ISTFT head, ``n_fft = 4 hop``, "same" padding: ``hop`` samples a frame.

The released ``.ckpt`` (PyTorch Lightning) holds these under ``state_dict``; the repository's
loader keeps the keys starting with ``backbone.``, ``head.`` and ``feature_extractor.``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from audiotok.codecs.encodec_model import EncodecQuantizer
from audiotok.codecs.seanet import SEANetConfig, SEANetEncoder
from audiotok.codecs.vocos_model import Backbone, ISTFTHead, _apply_norm
from audiotok.codecs.xcodec2_model import ResnetBlock


@dataclass(frozen=True)
class WavTokenizerConfig:
    """The released sizes (every published model: 4096 x 512 codebook, 768-channel decoder)."""

    ratios: tuple[int, ...] = (8, 5, 4, 2)  # the config's ``dowmsamples``; product = hop
    n_filters: int = 32
    dimension: int = 512
    bins: int = 4096
    dim: int = 768
    intermediate_dim: int = 2304
    num_layers: int = 12
    adanorm_num_embeddings: int = 4

    @property
    def hop(self) -> int:
        return math.prod(self.ratios)


class AttnBlock(nn.Module):
    """Single-head self-attention over time with 1x1 convolutions, plus the input."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(32, dim, eps=1e-6)
        self.q = nn.Conv1d(dim, dim, 1)
        self.k = nn.Conv1d(dim, dim, 1)
        self.v = nn.Conv1d(dim, dim, 1)
        self.proj_out = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        q, k, v = (m(h).transpose(1, 2)[:, None] for m in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v)[:, 0].transpose(1, 2)
        return x + self.proj_out(y)


class WavTokenizerBackbone(Backbone):
    """Vocos's backbone with ``pos_net`` after the input convolution: [B, C, T] -> [B, T, dim]."""

    def __init__(self, cfg: WavTokenizerConfig):
        super().__init__(
            cfg.dimension,
            cfg.dim,
            cfg.intermediate_dim,
            cfg.num_layers,
            adanorm_num_embeddings=cfg.adanorm_num_embeddings,
        )
        d = cfg.dim
        self.pos_net = nn.Sequential(
            ResnetBlock(d),
            ResnetBlock(d),
            AttnBlock(d),
            ResnetBlock(d),
            ResnetBlock(d),
            nn.GroupNorm(32, d, eps=1e-6),
        )

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        x = self.pos_net(self.embed(x))
        x = _apply_norm(self.norm, x.transpose(1, 2), cond).transpose(1, 2)
        for block in self.convnext:
            x = block(x, cond)
        return self.final_layer_norm(x.transpose(1, 2))


class _Encodec(nn.Module):
    def __init__(self, cfg: WavTokenizerConfig):
        super().__init__()
        seanet = SEANetConfig(
            channels=1,
            dimension=cfg.dimension,
            n_filters=cfg.n_filters,
            ratios=list(cfg.ratios),
            bidirectional=False,
            causal=False,
            norm="weight_norm",
        )
        self.encoder = SEANetEncoder(seanet)
        self.quantizer = EncodecQuantizer(cfg.dimension, 1, cfg.bins)


class WavTokenizer(nn.Module):
    """``feature_extractor.encodec.{encoder, quantizer}``, ``backbone``, ``head``."""

    def __init__(self, cfg: WavTokenizerConfig):
        super().__init__()
        self.cfg = cfg
        self.feature_extractor = nn.Module()
        self.feature_extractor.encodec = _Encodec(cfg)
        self.backbone = WavTokenizerBackbone(cfg)
        self.head = ISTFTHead(cfg.dim, 4 * cfg.hop, cfg.hop, padding="same")

    @property
    def encodec(self) -> _Encodec:
        enc = self.feature_extractor.encodec
        assert isinstance(enc, _Encodec)
        return enc

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav [B, 1, T] -> codes [B, 1, ceil(T / hop)]."""
        return self.encodec.quantizer.encode(self.encodec.encoder(wav), 1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, 1, T'] -> wav [B, T' * hop]."""
        feats = self.encodec.quantizer.decode(codes)
        cond = torch.zeros(1, dtype=torch.long, device=codes.device)  # bandwidth id 0
        return self.head(self.backbone(feats, cond))
