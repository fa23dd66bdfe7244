"""The SpeechTokenizer architecture (our implementation) and its configuration.

SpeechTokenizer (Zhang et al. 2024, ICLR, arXiv:2308.16692): a SEANet encoder whose LSTM is
bidirectional, an RVQ of ``n_q`` codebooks whose first stage is distilled from HuBERT through a
projection (``transform``: Linear ``dimension -> semantic_dimension``), and a SEANet decoder.
The released model (``config.json`` of fnlp/SpeechTokenizer ``speechtokenizer_hubert_avg``,
and the repository's ``config/spt_base_cfg.json``): 16 kHz, strides [8, 5, 4, 2] (hop 320,
50 Hz), ``n_filters`` 64, ``dimension`` 1024, ``semantic_dimension`` 768, 2 LSTM layers,
bidirectional, ELU (``"Snake"`` in the AnyGPT release), 8 codebooks of 1024 entries. Module
names follow ``speechtokenizer/model.py`` (``encoder``, ``transform``, ``quantizer.vq``,
``decoder``), so the released state dict loads by key.

:class:`HybridCodecConfig` also describes the students that audiotok trains
(``split_semantic``, teacher facts); it is saved as ``config.json`` next to their weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import nn

from audiotok.codecs.rvq import ResidualVQ, SplitResidualVQ, VQOutput
from audiotok.codecs.seanet import SEANetConfig, SEANetDecoder, SEANetEncoder
from audiotok.errors import AudiotokError

# config.json's "format": audiotok.folder_formats maps it to the loader (no code is named)
FORMAT = "audiotok-hybrid-codec"
# keys of the released config.json that define the architecture (speechtokenizer/model.py)
RELEASED_KEYS = (
    "n_filters",
    "strides",
    "dimension",
    "semantic_dimension",
    "bidirectional",
    "dilation_base",
    "residual_kernel_size",
    "n_residual_layers",
    "lstm_layers",
    "activation",
    "codebook_size",
    "n_q",
    "sample_rate",
)


@dataclass
class HybridCodecConfig:
    """Architecture (released SpeechTokenizer key names) plus what a student was distilled from.

    strides: decoder order; hop = their product; frame rate = sample_rate / hop.
    semantic_dimension: the teacher's feature dimension (the projection's output).
    split_semantic: Mimi-style split quantiser (a semantic VQ parallel to the acoustic RVQ).
    teacher / teacher_layer / teacher_recipe / teacher_sha256: the features codebook 0 was
    distilled from (``teacher_layer`` "9", "avg", ...), recorded, not used at inference.
    """

    sample_rate: int = 16000
    strides: list[int] = field(default_factory=lambda: [8, 5, 4, 2])
    n_filters: int = 64
    dimension: int = 1024
    semantic_dimension: int = 768
    bidirectional: bool = True
    lstm_layers: int = 2
    dilation_base: int = 2
    residual_kernel_size: int = 3
    n_residual_layers: int = 1
    activation: str = "ELU"
    codebook_size: int = 1024
    n_q: int = 8
    split_semantic: bool = False
    # quantiser training (rvq.Codebook)
    ema_decay: float = 0.99
    kmeans_iters: int = 50
    dead_after: int = 100
    # provenance
    teacher: str = ""
    teacher_layer: str = ""
    teacher_recipe: dict[str, Any] = field(default_factory=dict)
    teacher_sha256: str = ""

    @property
    def hop_length(self) -> int:
        return math.prod(self.strides)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    def seanet(self, bidirectional: bool | None = None) -> SEANetConfig:
        return SEANetConfig(
            dimension=self.dimension,
            n_filters=self.n_filters,
            ratios=list(self.strides),
            n_residual_layers=self.n_residual_layers,
            residual_kernel_size=self.residual_kernel_size,
            dilation_base=self.dilation_base,
            lstm_layers=self.lstm_layers,
            bidirectional=self.bidirectional if bidirectional is None else bidirectional,
            activation=self.activation,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HybridCodecConfig:
        from audiotok.folder_formats import LEGACY_BUILDERS

        known = {f.name for f in fields(cls)}
        legacy = {"audiotok_builder"} if d.get("audiotok_builder") in LEGACY_BUILDERS else set()
        unknown = sorted(set(d) - known - {"format"} - legacy)
        if unknown:
            raise AudiotokError(f"unknown keys in the hybrid codec config: {', '.join(unknown)}")
        from audiotok.jsonfields import check_fields

        check_fields(cls, d, "hybrid codec config")
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_released(cls, d: dict[str, Any], teacher_layer: str = "avg") -> HybridCodecConfig:
        """From a released SpeechTokenizer ``config.json`` (training keys are ignored)."""
        missing = [k for k in RELEASED_KEYS if k not in d]
        if missing:
            raise AudiotokError(f"not a SpeechTokenizer config.json: missing {', '.join(missing)}")
        arch = {k: d[k] for k in RELEASED_KEYS}
        arch["strides"] = [int(s) for s in arch["strides"]]
        return cls(**arch, teacher="hubert-base-ls960", teacher_layer=teacher_layer)


class _Quantizer(nn.Module):
    """Holds the RVQ as ``vq`` (keys ``quantizer.vq.*``, as upstream)."""

    def __init__(self, vq: ResidualVQ | SplitResidualVQ):
        super().__init__()
        self.vq = vq


class HybridCodecModel(nn.Module):
    """wav[B, 1, T] -> emb[B, dimension, ceil(T / hop)] -> codes[B, K, T'] -> wav[B, 1, T' hop]."""

    def __init__(self, cfg: HybridCodecConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = SEANetEncoder(cfg.seanet())
        if cfg.dimension != cfg.semantic_dimension:
            self.transform: nn.Module = nn.Linear(cfg.dimension, cfg.semantic_dimension)
        else:
            self.transform = nn.Identity()
        kw = dict(decay=cfg.ema_decay, kmeans_iters=cfg.kmeans_iters, dead_after=cfg.dead_after)
        vq: ResidualVQ | SplitResidualVQ
        if cfg.split_semantic:
            vq = SplitResidualVQ(cfg.dimension, cfg.n_q, cfg.codebook_size, **kw)  # type: ignore[arg-type]
        else:
            vq = ResidualVQ(cfg.dimension, cfg.n_q, cfg.codebook_size, **kw)  # type: ignore[arg-type]
        self.quantizer = _Quantizer(vq)
        self.decoder = SEANetDecoder(cfg.seanet(bidirectional=False))

    @property
    def vq(self) -> ResidualVQ | SplitResidualVQ:
        return self.quantizer.vq

    @property
    def hop_length(self) -> int:
        return self.cfg.hop_length

    def semantic_features(self, out: VQOutput) -> torch.Tensor:
        """The first stage's quantised output projected to the teacher: [B, T', semantic_dim]."""
        return self.transform(out.layer_outputs[0].transpose(1, 2))

    def forward(
        self, wav: torch.Tensor, n_q: int | None = None, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, VQOutput, torch.Tensor]:
        """Training pass: (reconstruction [B, 1, T' hop], quantiser output, projected
        codebook-0 features [B, T', semantic_dim]); ``mask`` [B, T'] marks valid frames."""
        emb = self.encoder(wav)
        out = self.vq(emb, n_q, mask=mask)
        return self.decoder(out.quantized), out, self.semantic_features(out)


@torch.no_grad()
def randomize_codebooks(model: HybridCodecModel, seed: int = 0) -> HybridCodecModel:
    """Fill an untrained model's codebooks (zeros until k-means) with its own residual frames
    of 1 s of seeded noise plus a little noise, so random-weight models give varied codes."""
    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.randn(1, 1, model.cfg.sample_rate, generator=g)
    emb = model.encoder(x)[0].T  # [frames, D]
    spread = emb.std(dim=0, keepdim=True) + 1e-6
    vq = model.vq
    stacks = [vq.semantic, vq.acoustic] if isinstance(vq, SplitResidualVQ) else [vq]
    for stack in stacks:
        residual = emb
        for layer in map(stack.stage, range(stack.n_q)):
            cb = layer.codebook
            idx = torch.randint(0, residual.shape[0], (cb.size,), generator=g)
            noise = torch.randn(cb.embed.shape, generator=g)
            entries = residual[idx] + 0.5 * spread * noise
            cb.embed.copy_(entries)
            cb.embed_avg.copy_(entries)
            cb.cluster_size.fill_(1.0)
            cb.inited.fill_(1.0)
            residual = residual - layer.decode(layer.encode(residual.T[None]))[0].T
    return model
