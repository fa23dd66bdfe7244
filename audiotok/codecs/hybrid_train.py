"""Training a SpeechTokenizer-style hybrid codec: ``train_hybrid(inputs, out_dir, steps=...)``.

A student (:class:`~audiotok.codecs.speechtokenizer_model.HybridCodecModel`: SEANet encoder
with a BiLSTM, RVQ with EMA codebooks, k-means initialisation and dead-code restarts, SEANet
decoder) learns to reconstruct the audio while codebook 0, through a linear projection,
follows a teacher's features (SpeechTokenizer, Zhang et al. 2024). Teacher features come from
any audiotok extractor (a registry name such as ``hubert-base-ls960`` or ``mfcc``, or a
model folder) at a layer (``"9"``) or averaged over all hidden states including the
transformer's input (``"avg"``: ``torch.stack(hidden_states).mean(0)`` in the released
``scripts/hubert_rep_extract.py``, ``semantic_model_layer: "avg"`` in
``config/spt_base_cfg.json``). They are computed once into ``OUT/teacher/`` and aligned to
the student's frames (:mod:`.hybrid_train_data`); the losses are :mod:`.hybrid_train_task`'s,
through the shared loop of :mod:`audiotok.train.engine` (AdamW, LR decay, mixed precision,
checkpoints, exact resume, DDP under ``torchrun``).

``OUT`` receives ``config.json`` + ``model.safetensors`` (the codec, rewritten at every
checkpoint: ``audiotok.load("OUT")``, ``audiotok encode --kind hybrid --model OUT``; its
config records the teacher's name, layer, recipe and weights sha256), ``train.json`` (the
options), ``metrics.jsonl``, ``tb/``, ``checkpoints/``, ``teacher/`` (the teacher's feature
store) and ``data/`` (audio and aligned features). Training defaults are the released
config's (lr 1e-4, betas (0.9, 0.99), no weight decay, 3 s segments, batches of 6; the
released trainer anneals the LR on a cosine over its epochs, the kit decays it exponentially).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.train.checkpoint import check_run_settings

# Options that must not change between a run and its --resume.
IDENTITY = (
    "inputs",
    "teacher",
    "teacher_layer",
    "sample_rate",
    "strides",
    "n_codebooks",
    "codebook_size",
    "split_semantic",
    "model",
    "init",
    "segment_frames",
    "batch_size",
    "seed",
    "valid_fraction",
    "valid_max",
    "discriminators",
    "disc_width",
    "weights",
)
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


def train_hybrid(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    steps: int,
    teacher: str = "hubert-base-ls960",
    teacher_layer: str | None = None,
    resume: bool = False,
    split_semantic: bool = False,
    sample_rate: int = 16000,
    hop: int | None = None,
    strides: Sequence[int] | None = None,
    n_codebooks: int = 8,
    codebook_size: int = 1024,
    model: dict[str, Any] | None = None,
    init: str = "lecun",
    segment_seconds: float = 3.0,
    batch_size: int = 6,
    keep_checkpoints: int = 2,
    checkpoint_every: int = 2500,
    log_every: int = 100,
    eval_every: int = 0,
    eval_max_seconds: float = 10.0,
    device: str = "auto",
    amp: str = "none",
    seed: int = 0,
    valid_fraction: float = 0.05,
    valid_max: int = 16,
    discriminators: tuple[str, ...] = ("mpd", "msd", "mstft"),
    disc_width: float = 1.0,
    weights: dict[str, Any] | None = None,
    lr: float = 1e-4,
    betas: tuple[float, float] = (0.9, 0.99),
    weight_decay: float = 0.0,
    lr_decay: float = 0.999,
    lr_decay_every: int = 800,
    grad_clip: float | None = None,
    adv_start: int = 0,
    num_workers: int = 2,
    max_minutes: float | None = None,
    progress: bool = True,
    tensorboard: bool | None = None,
    allow_pickle: bool = False,
    on_error: Callable[[Any, str], None] | None = None,
) -> dict[str, Any]:
    """Train (or with ``resume=True`` continue) a hybrid codec; returns a summary with the
    first and last held-out evaluation (``valid/teacher_cosine``, ``valid/mel_distance``...).

    ``hop`` or ``strides`` set the frame rate (default hop 320: 50 Hz at 16 kHz);
    ``model``: other :class:`HybridCodecConfig` fields (``n_filters``, ``dimension``,
    ``lstm_layers``, ``activation``, ...); ``init``: ``lecun`` (:func:`init_student`) or
    ``default`` (PyTorch's, as the released trainer); ``weights``: :class:`DistillWeights` fields
    (``distill=0`` trains without distillation, ``distill_type="t_axis"``); ``on_error(item,
    reason)`` hears of every input that fails (the teacher store keeps them by id).
    """
    import torch

    from audiotok.codecs.hybrid_train_task import HybridTask, init_student
    from audiotok.codecs.speechtokenizer_distill import DistillWeights
    from audiotok.codecs.speechtokenizer_model import HybridCodecConfig, HybridCodecModel
    from audiotok.tokenizer import resolve_device
    from audiotok.train import dist
    from audiotok.train.engine import GanTrainer, TrainConfig
    from audiotok.train.multi import build_discriminator

    out = Path(out_dir)
    info = dist.from_env()
    if batch_size % info.world_size:
        raise AudiotokError(
            f"--batch-size {batch_size} must divide among {info.world_size} processes"
        )
    st = list(strides) if strides else strides_for(hop or 320)
    if hop is not None and math.prod(st) != hop:
        raise AudiotokError(f"--strides {st} give a hop of {math.prod(st)}, not --hop {hop}")
    hop = math.prod(st)
    seg = max(1, round(segment_seconds * sample_rate / hop))
    known = {f.name for f in fields(DistillWeights)}
    bad = sorted(set(weights or {}) - known)
    if bad:
        raise AudiotokError(f"unknown loss weight(s) {', '.join(bad)}")
    given: dict[str, Any] = {k: tuple(v) if k == "mel" else v for k, v in (weights or {}).items()}
    w = DistillWeights(**given)
    if w.distill_type not in ("d_axis", "t_axis"):
        raise AudiotokError(f"--distill-type {w.distill_type!r}: d_axis or t_axis")
    arch = {f.name for f in fields(HybridCodecConfig)}
    reserved = {"sample_rate", "strides", "n_q", "codebook_size", "split_semantic",
                "semantic_dimension", "teacher", "teacher_layer", "teacher_recipe",
                "teacher_sha256"}  # fmt: skip
    bad = sorted(set(model or {}) - (arch - reserved))
    if bad:
        raise AudiotokError(f"unknown or reserved model option(s) {', '.join(bad)}")
    if init not in ("lecun", "default"):
        raise AudiotokError(f"--init {init!r}: lecun or default (PyTorch's)")
    layer_name, layer_opt = teacher_layers(teacher, teacher_layer)
    options = json.loads(json.dumps({
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "teacher": teacher,
        "teacher_layer": layer_name,
        "sample_rate": sample_rate,
        "strides": st,
        "n_codebooks": n_codebooks,
        "codebook_size": codebook_size,
        "split_semantic": split_semantic,
        "model": model or {},
        "init": init,
        "segment_frames": seg,
        "batch_size": batch_size,
        "seed": seed,
        "valid_fraction": valid_fraction,
        "valid_max": valid_max,
        "discriminators": list(discriminators),
        "disc_width": disc_width,
        "weights": w.to_dict(),
    }))  # fmt: skip
    check_run_settings(out, options, IDENTITY, resume=resume, main=info.is_main)

    dev = resolve_device(device)
    dist.init(info, dist.device_for(info, dev))
    if info.is_main:
        index = _prepare(inputs, out, teacher, layer_name, layer_opt, sample_rate, hop,
                         dev, num_workers, allow_pickle, on_error)  # fmt: skip
    dist.barrier(info)
    if not info.is_main:
        from audiotok.codecs.hybrid_train_data import load_index

        index = load_index(out / "data")
    train_items, valid_items = index.split(seed, valid_fraction, valid_max)
    t = index.teacher
    cfg = HybridCodecConfig(
        sample_rate=sample_rate,
        strides=st,
        n_q=n_codebooks,
        codebook_size=codebook_size,
        split_semantic=split_semantic,
        semantic_dimension=int(t["dim"]),
        teacher=t["name"],
        teacher_layer=t["layer"] or "",
        teacher_recipe=t["recipe"],
        teacher_sha256=t["sha256"],
        **(model or {}),
    )
    # A training run owns its process: its initialisation and steps follow its seed on torch's
    # global generator (new_student, for library callers, leaves that generator alone).
    torch.manual_seed(seed)
    student = HybridCodecModel(cfg)
    if init == "lecun":
        init_student(student)
    torch.manual_seed(seed)
    discriminator = build_discriminator(discriminators, disc_width)
    task = HybridTask(
        student,
        discriminator,
        index,
        train_items,
        valid_items,
        out,
        segment_frames=seg,
        batch_size=batch_size // info.world_size,
        seed=seed,
        weights=w,
        num_workers=num_workers,
        eval_max_frames=max(1, round(eval_max_seconds * sample_rate / hop)),
    )
    if len(task.dataset) == 0:
        raise AudiotokError(
            f"no training file has {seg} frames ({seg * hop / sample_rate:.2f} s): lower "
            "--segment-seconds"
        )
    tc = TrainConfig(
        steps=steps,
        seed=seed,
        device=dev,
        lr=lr,
        betas=betas,
        weight_decay=weight_decay,
        lr_decay=lr_decay,
        lr_decay_every=lr_decay_every,
        grad_clip=grad_clip,
        amp=amp,
        adv_weight=w.adversarial,
        fm_weight=w.feature_matching,
        adv_start=adv_start,
        checkpoint_every=checkpoint_every,
        keep_checkpoints=keep_checkpoints,
        log_every=log_every,
        eval_every=eval_every,
        max_minutes=max_minutes,
        progress=progress,
        tensorboard=tensorboard,
    )
    trainer = GanTrainer(task, tc, out)
    if not resume and steps > 0:
        task.init_codebooks(info, trainer.device)
    summary = trainer.run(resume=resume)
    summary.update(
        out_dir=str(out),
        train_files=len(task.dataset),
        skipped_short=task.dataset.skipped,
        valid_files=len(valid_items),
        teacher=t,
        frame_rate=cfg.frame_rate,
    )
    dist.shutdown(info)
    return summary


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

    from audiotok.codecs.hybrid_train_data import build_index, extract_teacher
    from audiotok.extractors import extractor_for
    from audiotok.pipeline import RunOptions, scan_inputs

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
    return build_index(out / "teacher", items, out / "data", sample_rate=sample_rate, hop=hop,
                       teacher=facts, options=options, on_error=on_error)  # fmt: skip
