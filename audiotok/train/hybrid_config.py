"""The config of ``audiotok hybrid train``: :class:`HybridTrainConfig` (saved as
``OUT/train.json``, read by ``--config``; :mod:`audiotok.train.config` says how).

Defaults are the released SpeechTokenizer config's (``config/spt_base_cfg.json``: lr 1e-4,
betas (0.9, 0.99), no weight decay, 3 s segments, batches of 6, the loss weights of
:class:`~audiotok.train.distill.DistillWeights`; the released trainer anneals the LR on a
cosine over its epochs, the kit decays it exponentially).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from audiotok.errors import AudiotokError
from audiotok.train.config import DiscConfig, OptimConfig, ScheduleConfig, part
from audiotok.train.distill import DistillWeights

# decoder-order strides per hop: the released 50 Hz layout, and common others
STRIDES = {
    320: [8, 5, 4, 2],
    240: [8, 5, 3, 2],
    480: [8, 5, 4, 3],
    640: [8, 5, 4, 4],
    960: [8, 6, 5, 4],
    1280: [8, 8, 5, 4],
    1920: [8, 6, 5, 4, 2],
}
TINY_MODEL = {"n_filters": 4, "dimension": 32, "lstm_layers": 1, "kmeans_iters": 10}
# HybridCodecConfig fields that the run sets itself (not architecture options)
RESERVED = {"sample_rate", "strides", "n_q", "codebook_size", "split_semantic",
            "semantic_dimension", "teacher", "teacher_layer", "teacher_recipe",
            "teacher_sha256"}  # fmt: skip


@dataclass
class Teacher:
    """The feature extractor codebook 0 follows: a registry name (``hubert-base-ls960``,
    ``mfcc``...) or a model folder, at ``layer`` ("9") or ``avg`` (None: ``avg`` for models
    with layers, nothing for MFCC-like extractors); ``allow_pickle``: convert a fairseq
    ``.pt`` teacher (only files you trust)."""

    name: str = "hubert-base-ls960"
    layer: str | None = None
    allow_pickle: bool = False


@dataclass
class HybridData:
    """Audio rate, segment length, global batch, held-out share (at most ``valid_max``
    files), decoding and loader processes (None: this machine's cores less one, at most 4),
    and the most audio of a held-out file an evaluation reads."""

    sample_rate: int = 16000
    segment_seconds: float = 3.0
    batch_size: int = 6
    valid_fraction: float = 0.05
    valid_max: int = 16
    num_workers: int | None = None
    eval_max_seconds: float = 10.0


@dataclass
class HybridModel:
    """``hop`` or ``strides`` (decoder order) set the frame rate (default hop 320: 50 Hz at
    16 kHz); ``init``: ``lecun`` or ``default`` (PyTorch's, as the released trainer);
    ``arch``: other :class:`~audiotok.codecs.speechtokenizer_model.HybridCodecConfig` fields
    (``n_filters``, ``dimension``, ``lstm_layers``, ``activation``...)."""

    hop: int | None = None
    strides: list[int] | None = None
    n_codebooks: int = 8
    codebook_size: int = 1024
    split_semantic: bool = False
    init: str = "lecun"
    arch: dict[str, Any] = field(default_factory=dict)


def _arch_keys() -> set[str]:
    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig

    return {f.name for f in fields(HybridCodecConfig)} - RESERVED


def _loss_extra_keys() -> set[str]:
    return set()


@dataclass
class HybridTrainConfig:
    """``inputs``: audio files, folders or manifests; ``output``: the codec folder; ``loss``:
    :class:`DistillWeights` (``distill=0`` trains without distillation, ``distill_type:
    t_axis``)."""

    inputs: list[str] = field(default_factory=list)
    output: str = ""
    seed: int = 0
    device: str = "auto"
    teacher: Teacher = field(default_factory=Teacher)
    data: HybridData = field(default_factory=HybridData)
    model: HybridModel = field(default_factory=HybridModel)
    loss: DistillWeights = field(default_factory=DistillWeights)
    discriminators: DiscConfig = part(DiscConfig(names=("mpd", "msd", "mstft")))
    optim: OptimConfig = part(OptimConfig(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0))
    schedule: ScheduleConfig = part(ScheduleConfig(checkpoint_every=2500, log_every=100))

    IDENTITY: ClassVar[tuple[str, ...]] = (
        "inputs", "seed", "teacher.name", "teacher.layer", "data.sample_rate",
        "data.segment_seconds", "data.batch_size", "data.valid_fraction", "data.valid_max",
        "model", "loss", "discriminators",
    )  # fmt: skip
    FREE_KEYS: ClassVar[dict[str, Any]] = {"model.arch": _arch_keys, "loss.extra": _loss_extra_keys}

    def strides(self) -> list[int]:
        """The encoder's strides (decoder order): ``model.strides``, else from ``model.hop``."""
        m = self.model
        st = list(m.strides) if m.strides else strides_for(m.hop or 320)
        if m.hop is not None and math.prod(st) != m.hop:
            raise AudiotokError(f"--strides {st} give a hop of {math.prod(st)}, not --hop {m.hop}")
        return st


def strides_for(hop: int) -> list[int]:
    """Strides whose product is ``hop``: the table above, else factors of at most 8."""
    if hop in STRIDES:
        return list(STRIDES[hop])
    primes, n, p = [], hop, 2
    while n > 1:
        while n % p == 0:
            primes.append(p)
            n //= p
        p += 1
    if not primes or max(primes) > 8:
        raise AudiotokError(f"--hop {hop} has a prime factor above 8: pass --strides")
    groups: list[int] = []
    for q in sorted(primes, reverse=True):
        for g, v in enumerate(groups):
            if v * q <= 8:
                groups[g] = v * q
                break
        else:
            groups.append(q)
    return sorted(groups, reverse=True)


def teacher_layers(teacher: str, layer: str | None) -> tuple[str | None, Any]:
    """(the layer as recorded, the extractor's ``layers`` option). ``None``: ``avg`` for models
    with layers (the released default), nothing for MFCC-like extractors without layers."""
    if layer is None:
        from audiotok import registry
        from audiotok.errors import UnknownModelError

        try:
            has_layers = registry.get(teacher).num_layers > 0
        except UnknownModelError:
            has_layers = True  # a model folder
        layer = "avg" if has_layers else None
    if layer is None:
        return None, None
    if layer == "avg":
        return "avg", "all"
    try:
        return str(int(layer)), int(layer)
    except ValueError:
        raise AudiotokError(f"--teacher-layer {layer!r}: a layer number or avg") from None
