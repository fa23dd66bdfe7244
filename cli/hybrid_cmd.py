"""audiotok hybrid train: a SpeechTokenizer-style codec whose codebook 0 follows a teacher.

Several GPUs: ``torchrun --nproc-per-node N -m audiotok hybrid train corpus/ -o st/ ...``
(the batch size is the global batch, split across the processes).
"""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import err_console, out_console
from audiotok.cli.train_flags import CONFIG_HELP, build, comma_list, run_training

hybrid_app = typer.Typer(
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
    help="Hybrid codecs: semantic codebook 0, acoustic rest (SpeechTokenizer-style).",
    no_args_is_help=True,
)


def _ints(text: str | None, what: str) -> list[int] | None:
    from audiotok.errors import AudiotokError

    if not text:
        return None
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise AudiotokError(f"{what} {text!r}: comma-separated integers, e.g. 8,5,4,2") from None


@hybrid_app.command("train")
def train(
    ctx: typer.Context,
    inputs: list[Path] = typer.Argument(
        None,
        help="Audio files, folders (scanned recursively) or manifests (.tsv/.jsonl) (default: "
        "the config's).",
    ),
    output: Path = typer.Option(
        None, "-o", "--output", help="Codec folder to write (default: the config's)."
    ),
    config_file: Path = typer.Option(None, "--config", help=CONFIG_HELP),
    teacher: str = typer.Option(
        "hubert-base-ls960",
        "--teacher",
        help="Feature extractor codebook 0 is distilled from: a registry name (hubert-base-"
        "ls960, mfcc, ...) or a model folder.",
    ),
    teacher_layer: str = typer.Option(
        None,
        "--teacher-layer",
        help="Teacher layer (0 = transformer input, n = layer n) or avg (the mean of all, "
        "as the released SpeechTokenizer; the default for models with layers).",
    ),
    steps: int = typer.Option(100000, "--steps", help="Train until this many steps."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the last checkpoint in --output."
    ),
    split_semantic: bool = typer.Option(
        False,
        "--split-semantic",
        help="Mimi-style quantiser: a semantic VQ parallel to the acoustic RVQ.",
    ),
    sample_rate: int = typer.Option(16000, "--sample-rate", help="Audio rate of the codec."),
    hop: int = typer.Option(
        None, "--hop", help="Samples per frame (default 320: 50 Hz at 16 kHz; 1280: 12.5 Hz)."
    ),
    strides: str = typer.Option(
        None, "--strides", help="Encoder strides, decoder order (default: from --hop)."
    ),
    n_codebooks: int = typer.Option(8, "--n-codebooks", min=2, help="RVQ codebooks."),
    codebook_size: int = typer.Option(1024, "--codebook-size", min=2, help="Entries each."),
    n_filters: int = typer.Option(64, "--n-filters", help="SEANet base channels (released 64)."),
    dimension: int = typer.Option(1024, "--dimension", help="Latent size (released 1024)."),
    lstm_layers: int = typer.Option(2, "--lstm-layers", help="Encoder BiLSTM layers."),
    init: str = typer.Option(
        "lecun",
        "--init",
        help="Conv initialisation: lecun (N(0, 1/fan_in), zero biases; docs/hybrid.md says "
        "why) or default (PyTorch's, as the released trainer).",
    ),
    segment_seconds: float = typer.Option(
        3.0, "--segment-seconds", help="Audio per training segment (released: 3 s)."
    ),
    batch_size: int = typer.Option(
        6, "--batch-size", help="Segments per step, over all processes (released: 6)."
    ),
    distill_weight: float = typer.Option(
        120.0, "--distill-weight", help="Weight of the distillation loss (0: none)."
    ),
    distill_type: str = typer.Option(
        "d_axis", "--distill-type", help="d_axis (released default) or t_axis."
    ),
    discriminators: str = typer.Option(
        "mpd,msd,mstft",
        "--discriminators",
        help="Comma list of mpd (multi-period), msd (multi-scale), mstft (multi-scale STFT).",
    ),
    disc_width: float = typer.Option(
        1.0, "--disc-width", help="Scale of the discriminators' channels (1.0: published)."
    ),
    lr: float = typer.Option(1e-4, "--lr", help="AdamW learning rate (released: 1e-4)."),
    grad_clip: float = typer.Option(
        None, "--grad-clip", help="Clip gradient norms to this value (default: no clipping)."
    ),
    adv_start: int = typer.Option(
        0, "--adv-start", help="Steps with the codec's own losses only before the GAN losses."
    ),
    device: str = typer.Option(
        "auto", "--device", help="auto | cpu | cuda | cuda:N (torchrun: the local GPU)."
    ),
    amp: str = typer.Option(
        "none", "--amp", help="Mixed precision: none, bf16 (CPU or CUDA) or fp16 (CUDA)."
    ),
    checkpoint_every: int = typer.Option(
        2500, "--checkpoint-every", help="Steps between checkpoints (and evaluations)."
    ),
    keep_checkpoints: int = typer.Option(
        2,
        "--keep-checkpoints",
        min=0,
        help="Checkpoints kept (0: all); only the newest keeps the discriminator and optimizer "
        "state (to resume), older ones the generator only.",
    ),
    eval_every: int = typer.Option(
        0, "--eval-every", help="Steps between held-out evaluations (0: at checkpoints)."
    ),
    log_every: int = typer.Option(100, "--log-every", help="Steps between metric lines."),
    max_minutes: float = typer.Option(
        None, "--max-minutes", help="Stop after this much training time (resumable)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of initialisation, split and segments."),
    valid_fraction: float = typer.Option(
        0.05, "--valid-fraction", help="Fraction of files held out (at most --valid-max)."
    ),
    valid_max: int = typer.Option(16, "--valid-max", help="Most held-out files."),
    num_workers: int = typer.Option(
        None,
        "--num-workers",
        min=0,
        help="Decoding and data loader processes (default: the cores less one, at most 4).",
    ),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Convert a fairseq .pt teacher (only files you trust)."
    ),
    tensorboard: bool = typer.Option(
        None, "--tensorboard/--no-tensorboard", help="TensorBoard logs in OUTPUT/tb."
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress display."),
) -> int:
    """Train a SpeechTokenizer-style codec, codebook 0 distilled from a teacher's features."""
    from audiotok.train.hybrid import train_hybrid
    from audiotok.train.hybrid_config import HybridTrainConfig

    flags = {
        "teacher": ("teacher.name", teacher),
        "teacher_layer": ("teacher.layer", teacher_layer),
        "allow_pickle": ("teacher.allow_pickle", allow_pickle),
        "steps": ("schedule.steps", steps),
        "split_semantic": ("model.split_semantic", split_semantic),
        "sample_rate": ("data.sample_rate", sample_rate),
        "hop": ("model.hop", hop),
        "strides": ("model.strides", _ints(strides, "--strides")),
        "n_codebooks": ("model.n_codebooks", n_codebooks),
        "codebook_size": ("model.codebook_size", codebook_size),
        "n_filters": ("model.arch.n_filters", n_filters),
        "dimension": ("model.arch.dimension", dimension),
        "lstm_layers": ("model.arch.lstm_layers", lstm_layers),
        "init": ("model.init", init),
        "segment_seconds": ("data.segment_seconds", segment_seconds),
        "batch_size": ("data.batch_size", batch_size),
        "distill_weight": ("loss.distill", distill_weight),
        "distill_type": ("loss.distill_type", distill_type),
        "discriminators": ("discriminators.names", comma_list(discriminators)),
        "disc_width": ("discriminators.width", disc_width),
        "lr": ("optim.lr", lr),
        "grad_clip": ("optim.grad_clip", grad_clip),
        "adv_start": ("optim.adv_start", adv_start),
        "device": ("device", device),
        "amp": ("optim.amp", amp),
        "checkpoint_every": ("schedule.checkpoint_every", checkpoint_every),
        "keep_checkpoints": ("schedule.keep_checkpoints", keep_checkpoints),
        "eval_every": ("schedule.eval_every", eval_every),
        "log_every": ("schedule.log_every", log_every),
        "max_minutes": ("schedule.max_minutes", max_minutes),
        "seed": ("seed", seed),
        "valid_fraction": ("data.valid_fraction", valid_fraction),
        "valid_max": ("data.valid_max", valid_max),
        "num_workers": ("data.num_workers", num_workers),
        "tensorboard": ("schedule.tensorboard", tensorboard),
    }
    if inputs:
        flags["inputs"] = ("inputs", [str(p) for p in inputs])
    cfg = build(ctx, HybridTrainConfig, config_file, output, resume, flags)
    summary, failed = run_training(train_hybrid, cfg, resume, quiet)
    import os

    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: rank 0 speaks for the run
        return 1 if failed else 0
    if summary.get("config_changes"):
        err_console.print(f"resumed with changed settings: {'; '.join(summary['config_changes'])}")
    first, last = summary.get("first_eval"), summary.get("last_eval")
    if first and last and first is not last:
        out_console.print(
            f"held-out teacher cosine {first['valid/teacher_cosine']:.3f} (step {first['step']}) "
            f"-> {last['valid/teacher_cosine']:.3f} (step {last['step']}); mel distance "
            f"{first['valid/mel_distance']:.3f} -> {last['valid/mel_distance']:.3f}"
        )
    t = summary["teacher"]
    layer = f" layer {t['layer']}" if t.get("layer") else ""
    out_console.print(
        f"hybrid codec at {cfg.output} (step {summary['steps']}, {summary['frame_rate']:g} Hz; "
        f"teacher {t['name']}{layer}; {summary['train_files']} training and "
        f"{summary['valid_files']} held-out files)"
    )
    if summary.get("skipped_short"):
        err_console.print(
            f"{summary['skipped_short']} file(s) shorter than one segment were not trained on"
        )
    if failed:
        err_console.print(f"{len(failed)} input(s) failed (above) and were left out")
        return 1
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(hybrid_app, name="hybrid")
