"""Training a SpeechTokenizer-style hybrid codec: ``train_hybrid(HybridTrainConfig(...))``.

A student (:class:`~audiotok.codecs.speechtokenizer_model.HybridCodecModel`: SEANet encoder
with a BiLSTM, RVQ with EMA codebooks, k-means initialisation and dead-code restarts, SEANet
decoder) learns to reconstruct the audio while codebook 0, through a linear projection,
follows a teacher's features (SpeechTokenizer, Zhang et al. 2024). Teacher features come from
any audiotok extractor (a registry name such as ``hubert-base-ls960`` or ``mfcc``, or a
model folder) at a layer (``"9"``) or averaged over all hidden states including the
transformer's input (``"avg"``: ``torch.stack(hidden_states).mean(0)`` in the released
``scripts/hubert_rep_extract.py``, ``semantic_model_layer: "avg"`` in
``config/spt_base_cfg.json``). They are computed once into ``OUT/teacher/`` and aligned to
the student's frames (:mod:`.hybrid_data`, on the shared corpus index); the losses are
:mod:`.hybrid_task`'s, through the shared loop of :mod:`audiotok.train.engine` (AdamW, LR
decay, mixed precision, checkpoints, exact resume, DDP under ``torchrun``).

``OUT`` receives ``config.json`` + ``model.safetensors`` (the codec, rewritten at every
checkpoint: ``audiotok.load("OUT")``, ``audiotok encode --kind hybrid --model OUT``; its
config records the teacher's name, layer, recipe and weights sha256), ``train.json`` (the
:class:`~audiotok.train.hybrid_config.HybridTrainConfig`), ``metrics.jsonl``, ``tb/``,
``checkpoints/``, ``teacher/`` (the teacher's feature store) and ``data/`` (audio and aligned
features). Training defaults are the released
config's (:mod:`.hybrid_config`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.train.hybrid_config import HybridTrainConfig, teacher_layers


def train_hybrid(
    config: HybridTrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    on_error: Callable[[Any, str], None] | None = None,
) -> dict[str, Any]:
    """Train (or with ``resume=True`` continue) a hybrid codec; returns a summary with the
    first and last held-out evaluation (``valid/teacher_cosine``, ``valid/mel_distance``...)
    and ``config_changes`` (what a resume changed that the run allows).

    ``on_error(item, reason)`` hears of every input that fails (the teacher store keeps them
    by id; the file is left out).
    """
    import torch

    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig, HybridCodecModel
    from audiotok.tokenizer import resolve_device
    from audiotok.train import dist
    from audiotok.train.config import check_run
    from audiotok.train.engine import GanTrainer, engine_config
    from audiotok.train.hybrid_task import HybridTask, init_student
    from audiotok.train.multi import build_discriminator

    c = config
    if not c.inputs or not c.output:
        raise AudiotokError("training a hybrid codec needs inputs and an output folder")
    d, m, w = c.data, c.model, c.loss
    out = Path(c.output)
    info = dist.from_env()
    if d.batch_size % info.world_size:
        raise AudiotokError(
            f"--batch-size {d.batch_size} must divide among {info.world_size} processes"
        )
    st = c.strides()
    hop = math.prod(st)
    seg = max(1, round(d.segment_seconds * d.sample_rate / hop))
    if w.distill_type not in ("d_axis", "t_axis"):
        raise AudiotokError(f"--distill-type {w.distill_type!r}: d_axis or t_axis")
    if m.init not in ("lecun", "default"):
        raise AudiotokError(f"--init {m.init!r}: lecun or default (PyTorch's)")
    layer_name, layer_opt = teacher_layers(c.teacher.name, c.teacher.layer)
    c = dataclasses.replace(
        c,
        inputs=[str(Path(p).resolve()) for p in c.inputs],
        output=str(out.resolve()),
        teacher=dataclasses.replace(c.teacher, layer=layer_name),
    )
    changes = check_run(out, c, c.IDENTITY, resume=resume, main=info.is_main)
    workers = d.num_workers if d.num_workers is not None else _default_workers()

    dev = resolve_device(c.device)
    dist.init(info, dist.device_for(info, dev))
    if info.is_main:
        index = _prepare(c.inputs, out, c.teacher.name, layer_name, layer_opt, d.sample_rate,
                         hop, dev, workers, c.teacher.allow_pickle, on_error)  # fmt: skip
    dist.barrier(info)
    if not info.is_main:
        from audiotok.train.corpus import load_index

        index = load_index(out / "data")
    train_items, valid_items = index.split(c.seed, d.valid_fraction, d.valid_max)
    t = index.key["teacher"]
    cfg = HybridCodecConfig(
        sample_rate=d.sample_rate,
        strides=st,
        n_q=m.n_codebooks,
        codebook_size=m.codebook_size,
        split_semantic=m.split_semantic,
        semantic_dimension=int(t["dim"]),
        teacher=t["name"],
        teacher_layer=t["layer"] or "",
        teacher_recipe=t["recipe"],
        teacher_sha256=t["sha256"],
        **m.arch,
    )
    # A training run owns its process: its initialisation and steps follow its seed on torch's
    # global generator (new_student, for library callers, leaves that generator alone).
    torch.manual_seed(c.seed)
    student = HybridCodecModel(cfg)
    if m.init == "lecun":
        init_student(student)
    torch.manual_seed(c.seed)
    discriminator = build_discriminator(c.discriminators.names, c.discriminators.width)
    task = HybridTask(
        student,
        discriminator,
        index,
        train_items,
        valid_items,
        out,
        segment_frames=seg,
        batch_size=d.batch_size // info.world_size,
        seed=c.seed,
        weights=w,
        num_workers=workers,
        eval_max_frames=max(1, round(d.eval_max_seconds * d.sample_rate / hop)),
    )
    if len(task.dataset) == 0:
        raise AudiotokError(
            f"no training file has {seg} frames ({seg * hop / d.sample_rate:.2f} s): lower "
            "--segment-seconds"
        )
    tc = engine_config(c, dev, progress, adv_weight=w.adversarial, fm_weight=w.feature_matching)
    trainer = GanTrainer(task, tc, out)
    if not resume and c.schedule.steps > 0:
        task.init_codebooks(info, trainer.device)
    summary = trainer.run(resume=resume)
    summary.update(
        out_dir=str(out),
        train_files=len(task.dataset),
        skipped_short=task.dataset.skipped,
        valid_files=len(valid_items),
        teacher=t,
        frame_rate=cfg.frame_rate,
        config_changes=changes,
    )
    dist.shutdown(info)
    return summary


def _default_workers() -> int:
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores - 1))


def _prepare(
    inputs: Sequence[str | Path],
    out: Path,
    teacher: str,
    layer_name: str | None,
    layer_opt: Any,
    sample_rate: int,
    hop: int,
    device: str,
    num_workers: int,
    allow_pickle: bool,
    on_error: Callable[[Any, str], None] | None,
) -> Any:
    """Teacher features into ``out/teacher`` (resumable), then the cache in ``out/data``."""
    import gc

    from audiotok.extractors import extractor_for
    from audiotok.pipeline import RunOptions, scan_inputs
    from audiotok.train.hybrid_data import extract_teacher, teacher_index

    items, problems = scan_inputs([str(p) for p in inputs])
    if not items and not problems:
        raise AudiotokError(f"no audio files in {', '.join(map(str, inputs))}")
    try:
        ex, recipe = extractor_for(
            teacher, layers=layer_opt, allow_pickle=allow_pickle, device=device
        )
    except AudiotokError as e:  # the extractor speaks of encode's options: name this command's
        msg = str(e).replace("--layer", "--teacher-layer").replace("--model", "--teacher")
        raise AudiotokError(msg) from None
    facts = {
        "name": teacher,
        "layer": layer_name,
        "recipe": recipe.to_dict(),
        "sha256": ex.weights_sha256,
        "dim": int(ex.dim),
        "frame_rate": float(ex.frame_rate),
    }
    options = RunOptions(num_workers=num_workers)
    extract_teacher(items, problems, ex, recipe, out / "teacher", options=options,
                    on_error=on_error)  # fmt: skip
    del ex
    gc.collect()
    return teacher_index(out / "teacher", items, out / "data", sample_rate=sample_rate, hop=hop,
                       teacher=facts, options=options, on_error=on_error)  # fmt: skip
