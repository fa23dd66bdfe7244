"""The config of ``audiotok vocoder train``: :class:`VocoderTrainConfig` (saved as
``OUT/train.json``, read by ``--config``; :mod:`audiotok.train.config` says how).

Defaults: HiFi-GAN V1 and speech-resynthesis (lr 2e-4, betas (0.8, 0.99), mel loss weight 45,
0.56 s segments, batches of 16; duration loss weight 1.0, ``dur_prediction_weight`` of
speech-resynthesis' ``hubert100_dw1.0.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from audiotok.train.config import DiscConfig, OptimConfig, ScheduleConfig, part


@dataclass
class VocoderData:
    """``segment_frames``: unit frames per random training segment (None: 0.56 s, the 8960
    samples at 16 kHz of speech-resynthesis); ``batch_size``: over all processes;
    ``speakers``: ``none`` or ``from-path-prefix`` (first folder of the id); a seeded
    ``valid_fraction`` of the utterances (at most ``valid_max``) is held out;
    ``num_workers``: decoding and data loader processes."""

    segment_frames: int | None = None
    batch_size: int = 16
    speakers: str = "none"
    valid_fraction: float = 0.05
    valid_max: int = 16
    num_workers: int = 2


@dataclass
class VocoderLoss:
    mel: float = 45.0
    duration: float = 1.0


def _model_keys() -> set[str]:
    from audiotok.vocoders.config import VocoderConfig

    # the rates, unit count, speakers and provenance come from the store
    fixed = {"num_units", "sample_rate", "frame_rate", "num_speakers", "speakers", "tokenizer",
             "tokens", "codebook_sha256", "source"}  # fmt: skip
    return {f.name for f in fields(VocoderConfig)} - fixed


@dataclass
class VocoderTrainConfig:
    """``store``: a semantic token store whose rows' audio is on this machine; ``output``: the
    vocoder folder; ``model``: :class:`~audiotok.vocoders.config.VocoderConfig` fields (channel
    widths, kernels, ``duration_predictor``...)."""

    store: str = ""
    output: str = ""
    seed: int = 0
    device: str = "auto"
    data: VocoderData = field(default_factory=VocoderData)
    model: dict[str, Any] = field(default_factory=dict)  # duration_predictor: True unless False
    loss: VocoderLoss = field(default_factory=VocoderLoss)
    discriminators: DiscConfig = field(default_factory=DiscConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = part(ScheduleConfig(steps=100000, checkpoint_every=1000,
                                                   log_every=50))  # fmt: skip

    # what a --resume may not change (dotted prefixes); the rest is listed when it changes
    IDENTITY: ClassVar[tuple[str, ...]] = (
        "store", "seed", "data.segment_frames", "data.batch_size", "data.speakers",
        "data.valid_fraction", "data.valid_max", "model", "loss", "discriminators",
    )  # fmt: skip
    FREE_KEYS: ClassVar[dict[str, Any]] = {"model": _model_keys}
