"""Training a unit vocoder from a token store: ``train_vocoder(store_dir, out_dir, steps=...)``.

The store's semantic units and the audio its rows point to (:mod:`.train_data`) train a unit
HiFi-GAN (:class:`~audiotok.vocoders.model.Vocoder`, weight norm on the generator's convs)
against HiFi-GAN's multi-period and multi-scale discriminators (optionally EnCodec's
multi-scale STFT discriminator), with a duration predictor trained jointly, through the
shared loop of :mod:`audiotok.train.engine`. ``out_dir`` receives ``config.json`` +
``model.safetensors`` (the inference vocoder, rewritten at every checkpoint), ``train.json``
(the options), ``metrics.jsonl``, ``tb/`` (TensorBoard), ``checkpoints/`` and ``data/`` (the
audio cache). Under ``torchrun`` every process runs this function; ``batch_size`` is the
global batch, split across processes (as speech-resynthesis does).
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.train.checkpoint import check_run_settings

# Options that must not change between a run and its --resume.
IDENTITY = (
    "store",
    "segment_frames",
    "batch_size",
    "speakers",
    "seed",
    "valid_fraction",
    "valid_max",
    "model",
    "discriminators",
    "disc_width",
    "mel_weight",
    "dur_weight",
)
TINY_MODEL = {
    "embedding_dim": 32,
    "upsample_initial_channel": 64,
    "resblock_kernel_sizes": (3, 7),
    "resblock_dilation_sizes": ((1, 3), (1, 3)),
    "duration_hidden_dim": 32,
}


def train_vocoder(
    store_dir: str | Path,
    out_dir: str | Path,
    *,
    steps: int,
    resume: bool = False,
    segment_frames: int | None = None,
    batch_size: int = 16,
    keep_checkpoints: int = 2,
    checkpoint_every: int = 1000,
    log_every: int = 50,
    eval_every: int = 0,
    device: str = "auto",
    amp: str = "none",
    speakers: str = "none",
    seed: int = 0,
    valid_fraction: float = 0.05,
    valid_max: int = 16,
    model: dict[str, Any] | None = None,
    discriminators: tuple[str, ...] = ("mpd", "msd"),
    disc_width: float = 1.0,
    lr: float = 2e-4,
    lr_decay: float = 0.999,
    lr_decay_every: int = 800,
    grad_clip: float | None = None,
    adv_start: int = 0,
    mel_weight: float = 45.0,
    dur_weight: float = 1.0,
    num_workers: int = 0,
    max_minutes: float | None = None,
    progress: bool = True,
    tensorboard: bool | None = None,
) -> dict[str, Any]:
    """Train (or with ``resume=True`` continue) a unit vocoder; returns a summary with the
    first and last held-out evaluation (``valid/mel_distance``, ``valid/dur_loss``).

    ``segment_frames``: frames per random training segment (default: 0.56 s, the 8960
    samples at 16 kHz of speech-resynthesis). ``model``: :class:`VocoderConfig` fields (channel
    widths, kernels, ``duration_predictor``...); the rates, unit count and speakers come from
    the store. ``speakers``: ``none`` or ``from-path-prefix`` (first folder of the id).
    ``max_minutes``: stop after this much training time (evaluating and checkpointing), for
    fixed-budget runs and job time limits; ``--resume`` continues towards ``steps``.
    """
    import torch

    from audiotok import open_tokens
    from audiotok.tokenizer import resolve_device
    from audiotok.train import dist
    from audiotok.train.engine import GanTrainer, TrainConfig
    from audiotok.train.multi import build_discriminator
    from audiotok.train.norms import apply_weight_norm
    from audiotok.vocoders.config import VocoderConfig, hop_length, spec_identity
    from audiotok.vocoders.model import Vocoder
    from audiotok.vocoders.train_data import build_index
    from audiotok.vocoders.train_task import VocoderTask

    store = open_tokens(str(store_dir))
    spec = store.spec
    if spec.num_codebooks != 1:
        raise AudiotokError(
            f"{store_dir} holds {spec.num_codebooks} codebooks per frame ({spec.name}); a unit "
            "vocoder trains on single-codebook semantic units"
        )
    hop = hop_length(spec.sample_rate, spec.frame_rate)
    seg = segment_frames or max(1, round(0.56 * spec.frame_rate))
    out = Path(out_dir)
    info = dist.from_env()
    if batch_size % info.world_size:
        raise AudiotokError(
            f"--batch-size {batch_size} must divide among {info.world_size} processes"
        )
    recipe = getattr(store, "recipe", None)
    options = {
        "store": str(Path(store_dir).resolve()),
        "segment_frames": seg,
        "batch_size": batch_size,
        "speakers": speakers,
        "seed": seed,
        "valid_fraction": valid_fraction,
        "valid_max": valid_max,
        "model": {k: list(v) if isinstance(v, tuple) else v for k, v in (model or {}).items()},
        "discriminators": list(discriminators),
        "disc_width": disc_width,
        "mel_weight": mel_weight,
        "dur_weight": dur_weight,
    }
    options = json.loads(json.dumps(options))  # tuples -> lists, as train.json stores them
    check_run_settings(out, options, IDENTITY, resume=resume, main=info.is_main)

    # rank 0 decodes the audio into the cache while the others wait at the barrier (30 min by
    # default: for very large corpora build the cache first with steps=0 in one process)
    dist.init(info, dist.device_for(info, resolve_device(device)))
    index = None
    if info.is_main:
        index = build_index(store, out / "data", spec.sample_rate, hop, speakers)
    dist.barrier(info)
    if index is None:
        index = build_index(store, out / "data", spec.sample_rate, hop, speakers)
    train_items, valid_items = index.split(seed, valid_fraction, valid_max)

    known = {f.name for f in fields(VocoderConfig)}
    bad = sorted(set(model or {}) - known)
    if bad:
        raise AudiotokError(f"unknown model option(s) {', '.join(bad)}")
    settings: dict[str, Any] = {"duration_predictor": True, **(model or {})}
    config = VocoderConfig(
        num_units=spec.codebook_size,
        sample_rate=spec.sample_rate,
        frame_rate=spec.frame_rate,
        num_speakers=len(index.speakers),
        speakers=index.speakers,
        tokenizer=recipe.to_dict() if recipe is not None else None,
        tokens=spec_identity(spec),
        codebook_sha256=spec.params.get("codebook_sha256", ""),
        source="audiotok vocoder train",
        **settings,
    )
    torch.manual_seed(seed)
    vocoder = Vocoder(config)
    apply_weight_norm(vocoder.generator)
    discriminator = build_discriminator(discriminators, disc_width)
    task = VocoderTask(
        vocoder,
        discriminator,
        index,
        train_items,
        valid_items,
        out,
        segment_frames=seg,
        batch_size=batch_size // info.world_size,
        seed=seed,
        num_workers=num_workers,
        mel_weight=mel_weight,
        dur_weight=dur_weight,
    )
    if len(task.dataset) == 0:
        raise AudiotokError(
            f"no training utterance has {seg} frames ({seg / spec.frame_rate:.2f} s): lower "
            "--segment-frames"
        )
    cfg = TrainConfig(
        steps=steps,
        seed=seed,
        device=resolve_device(device),
        lr=lr,
        lr_decay=lr_decay,
        lr_decay_every=lr_decay_every,
        grad_clip=grad_clip,
        amp=amp,
        adv_start=adv_start,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints,
        log_every=log_every,
        eval_every=eval_every,
        max_minutes=max_minutes,
        progress=progress,
        tensorboard=tensorboard,
    )
    summary = GanTrainer(task, cfg, out).run(resume=resume)
    summary.update(
        out_dir=str(out),
        train_utterances=len(task.dataset),
        skipped_short=task.dataset.skipped,
        valid_utterances=len(valid_items),
        speakers=index.speakers,
    )
    dist.shutdown(info)
    return summary
