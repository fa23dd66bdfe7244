"""Training a unit vocoder from a token store: ``train_vocoder(VocoderTrainConfig(...))``.

The store's semantic units and the audio its rows point to (:mod:`.vocoder_data`, on the
shared corpus index) train a unit HiFi-GAN (:class:`~audiotok.vocoders.model.Vocoder`, weight
norm on the generator's convs) against HiFi-GAN's multi-period and multi-scale
discriminators (optionally EnCodec's multi-scale STFT discriminator), with a duration
predictor trained jointly, through the shared loop of :mod:`audiotok.train.engine`.
``output`` receives ``config.json`` + ``model.safetensors`` (the inference vocoder, rewritten
at every checkpoint), ``train.json`` (the :class:`VocoderTrainConfig`), ``metrics.jsonl``,
``tb/`` (TensorBoard), ``checkpoints/`` and ``data/`` (the audio cache). Under ``torchrun``
every process runs this function; ``data.batch_size`` is the global batch, split across
processes (as speech-resynthesis does).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.train.vocoder_config import VocoderTrainConfig

TINY_MODEL = {
    "embedding_dim": 32,
    "upsample_initial_channel": 64,
    "resblock_kernel_sizes": (3, 7),
    "resblock_dilation_sizes": ((1, 3), (1, 3)),
    "duration_hidden_dim": 32,
}


def train_vocoder(
    config: VocoderTrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    on_error: Callable[[Any, str], None] | None = None,
) -> dict[str, Any]:
    """Train (or with ``resume=True`` continue) a unit vocoder; returns a summary with the
    first and last held-out evaluation (``valid/mel_distance``, ``valid/dur_loss``) and
    ``config_changes`` (what a resume changed that the run allows: steps, LR, logging...).

    ``schedule.max_minutes``: stop after this much training time (evaluating and
    checkpointing), for fixed-budget runs and job time limits; ``--resume`` continues towards
    ``schedule.steps``. ``on_error(item, reason)`` hears of every row whose audio fails (it is
    left out)."""
    import torch

    from audiotok import open_tokens
    from audiotok.pipeline.local import RunOptions
    from audiotok.tokenizer import resolve_device
    from audiotok.train import dist
    from audiotok.train.config import check_run
    from audiotok.train.corpus import load_index
    from audiotok.train.engine import engine_config
    from audiotok.train.multi import build_discriminator
    from audiotok.train.norms import apply_weight_norm
    from audiotok.train.vocoder_data import speakers_of, unit_index
    from audiotok.train.vocoder_task import VocoderTask
    from audiotok.vocoders.config import VocoderConfig, hop_length, spec_identity
    from audiotok.vocoders.model import Vocoder

    c, d = config, config.data
    if not c.store or not c.output:
        raise AudiotokError("training a vocoder needs a token store and an output folder")
    store = open_tokens(c.store)
    spec = store.spec
    if spec.num_codebooks != 1:
        raise AudiotokError(
            f"{c.store} holds {spec.num_codebooks} codebooks per frame ({spec.name}); a unit "
            "vocoder trains on single-codebook semantic units"
        )
    hop = hop_length(spec.sample_rate, spec.frame_rate)
    seg = d.segment_frames or max(1, round(0.56 * spec.frame_rate))
    out = Path(c.output)
    info = dist.from_env()
    if d.batch_size % info.world_size:
        raise AudiotokError(
            f"--batch-size {d.batch_size} must divide among {info.world_size} processes"
        )
    speakers_of([], d.speakers)  # an unknown mode is refused before anything is written
    c = _resolved(c)
    changes = check_run(out, c, c.IDENTITY, resume=resume, main=info.is_main)

    # rank 0 decodes the audio into the cache while the others wait at the barrier (30 min by
    # default: for very large corpora build the cache first with steps=0 in one process)
    dev = resolve_device(c.device)
    dist.init(info, dist.device_for(info, dev))
    if info.is_main:
        options = RunOptions(num_workers=d.num_workers)
        index = unit_index(
            store, out / "data", spec.sample_rate, hop, options=options, on_error=on_error
        )
    dist.barrier(info)
    if not info.is_main:
        index = load_index(out / "data")
    names, speaker_of = speakers_of(index.ids, d.speakers)
    train_items, valid_items = index.split(c.seed, d.valid_fraction, d.valid_max, "utterances")

    recipe = getattr(store, "recipe", None)
    vc = VocoderConfig(
        num_units=spec.codebook_size,
        sample_rate=spec.sample_rate,
        frame_rate=spec.frame_rate,
        num_speakers=len(names),
        speakers=names,
        tokenizer=recipe.to_dict() if recipe is not None else None,
        tokens=spec_identity(spec),
        codebook_sha256=spec.params.get("codebook_sha256", ""),
        source="audiotok vocoder train",
        **{"duration_predictor": True, **c.model},
    )
    torch.manual_seed(c.seed)
    vocoder = Vocoder(vc)
    apply_weight_norm(vocoder.generator)
    discriminator = build_discriminator(c.discriminators.names, c.discriminators.width)
    task = VocoderTask(
        vocoder,
        discriminator,
        index,
        train_items,
        valid_items,
        out,
        speaker_of=speaker_of,
        segment_frames=seg,
        batch_size=d.batch_size // info.world_size,
        seed=c.seed,
        num_workers=d.num_workers,
        mel_weight=c.loss.mel,
        dur_weight=c.loss.duration,
    )
    if len(task.dataset) == 0:
        raise AudiotokError(
            f"no training utterance has {seg} frames ({seg / spec.frame_rate:.2f} s): lower "
            "--segment-frames"
        )
    from audiotok.train.engine import GanTrainer

    summary = GanTrainer(task, engine_config(c, dev, progress), out).run(resume=resume)
    summary.update(
        out_dir=str(out),
        train_utterances=len(task.dataset),
        skipped_short=task.dataset.skipped,
        valid_utterances=len(valid_items),
        speakers=names,
        config_changes=changes,
    )
    dist.shutdown(info)
    return summary


def _resolved(c: VocoderTrainConfig) -> VocoderTrainConfig:
    """Paths made absolute (``train.json`` names what it trained on wherever it is read)."""
    import dataclasses

    return dataclasses.replace(
        c, store=str(Path(c.store).resolve()), output=str(Path(c.output).resolve())
    )
