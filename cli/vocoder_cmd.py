"""audiotok vocoder train | import | info: unit vocoders for semantic tokens.

Several GPUs: ``torchrun --nproc-per-node N -m audiotok vocoder train tokens/ -o voc/ ...``
(the batch size is the global batch, split across the processes).
"""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import err_console, out_console
from audiotok.cli.train_flags import CONFIG_HELP, build, comma_list, run_training

vocoder_app = typer.Typer(
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
    help="Train unit vocoders on token stores, import released ones, describe them.",
    no_args_is_help=True,
)


@vocoder_app.command("train")
def train(
    ctx: typer.Context,
    tokens: Path = typer.Argument(
        None,
        help="Semantic token store (audiotok encode) whose rows' audio is on this machine "
        "(default: the config's store).",
    ),
    output: Path = typer.Option(
        None, "-o", "--output", help="Vocoder folder to write (default: the config's)."
    ),
    config_file: Path = typer.Option(None, "--config", help=CONFIG_HELP),
    steps: int = typer.Option(100000, "--steps", help="Train until this many steps."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the last checkpoint in --output."
    ),
    segment_frames: int = typer.Option(
        None, "--segment-frames", help="Frames per training segment (default: 0.56 s)."
    ),
    batch_size: int = typer.Option(
        16, "--batch-size", help="Segments per step (over all processes)."
    ),
    checkpoint_every: int = typer.Option(
        1000, "--checkpoint-every", help="Steps between checkpoints (and held-out evaluations)."
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
    log_every: int = typer.Option(50, "--log-every", help="Steps between metric lines."),
    device: str = typer.Option(
        "auto", "--device", help="auto | cpu | cuda | cuda:N (torchrun: the local GPU)."
    ),
    amp: str = typer.Option(
        "none",
        "--amp",
        help="Mixed precision: none, bf16 (CPU or CUDA) or fp16 (CUDA, with a grad scaler).",
    ),
    speakers: str = typer.Option(
        "none",
        "--speakers",
        help="none, or from-path-prefix: a speaker table keyed by the first folder of "
        "each utterance id.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of initialisation, split and segments."),
    channels: int = typer.Option(
        512, "--channels", help="Generator channels after conv_pre (HiFi-GAN V1: 512)."
    ),
    embedding_dim: int = typer.Option(128, "--embedding-dim", help="Unit embedding size."),
    duration_predictor: bool = typer.Option(
        True,
        "--duration-predictor/--no-duration-predictor",
        help="Train a duration predictor for deduplicated units.",
    ),
    discriminators: str = typer.Option(
        "mpd,msd",
        "--discriminators",
        help="Comma list of mpd (multi-period), msd (multi-scale), mstft (multi-scale STFT).",
    ),
    disc_width: float = typer.Option(
        1.0, "--disc-width", help="Scale of the discriminators' channels (1.0: published sizes)."
    ),
    lr: float = typer.Option(2e-4, "--lr", help="AdamW learning rate (HiFi-GAN: 2e-4)."),
    grad_clip: float = typer.Option(
        None, "--grad-clip", help="Clip gradient norms to this value (default: no clipping)."
    ),
    adv_start: int = typer.Option(
        0,
        "--adv-start",
        help="Steps with the mel and duration losses only before the GAN losses start.",
    ),
    valid_fraction: float = typer.Option(
        0.05, "--valid-fraction", help="Fraction of utterances held out (at most --valid-max)."
    ),
    valid_max: int = typer.Option(16, "--valid-max", help="Most held-out utterances."),
    max_minutes: float = typer.Option(
        None, "--max-minutes", help="Stop after this much training time (resumable)."
    ),
    num_workers: int = typer.Option(
        2, "--num-workers", min=0, help="Decoding and data loader processes."
    ),
    tensorboard: bool = typer.Option(
        None,
        "--tensorboard/--no-tensorboard",
        help="TensorBoard logs in OUTPUT/tb (default: when installed).",
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress display."),
) -> int:
    """Train a unit HiFi-GAN (with a duration predictor) on a semantic token store."""
    from audiotok.train.vocoder import train_vocoder
    from audiotok.train.vocoder_config import VocoderTrainConfig

    flags = {
        "steps": ("schedule.steps", steps),
        "segment_frames": ("data.segment_frames", segment_frames),
        "batch_size": ("data.batch_size", batch_size),
        "checkpoint_every": ("schedule.checkpoint_every", checkpoint_every),
        "keep_checkpoints": ("schedule.keep_checkpoints", keep_checkpoints),
        "eval_every": ("schedule.eval_every", eval_every),
        "log_every": ("schedule.log_every", log_every),
        "device": ("device", device),
        "amp": ("optim.amp", amp),
        "speakers": ("data.speakers", speakers),
        "seed": ("seed", seed),
        "channels": ("model.upsample_initial_channel", channels),
        "embedding_dim": ("model.embedding_dim", embedding_dim),
        "duration_predictor": ("model.duration_predictor", duration_predictor),
        "discriminators": ("discriminators.names", comma_list(discriminators)),
        "disc_width": ("discriminators.width", disc_width),
        "lr": ("optim.lr", lr),
        "grad_clip": ("optim.grad_clip", grad_clip),
        "adv_start": ("optim.adv_start", adv_start),
        "valid_fraction": ("data.valid_fraction", valid_fraction),
        "valid_max": ("data.valid_max", valid_max),
        "max_minutes": ("schedule.max_minutes", max_minutes),
        "num_workers": ("data.num_workers", num_workers),
        "tensorboard": ("schedule.tensorboard", tensorboard),
    }
    if tokens is not None:
        flags["tokens"] = ("store", str(tokens))
    cfg = build(ctx, VocoderTrainConfig, config_file, output, resume, flags)
    summary, failed = run_training(train_vocoder, cfg, resume, quiet)
    if summary.get("config_changes"):
        err_console.print(f"resumed with changed settings: {'; '.join(summary['config_changes'])}")
    first, last = summary.get("first_eval"), summary.get("last_eval")
    if first and last and first is not last:
        out_console.print(
            f"held-out mel distance {first['valid/mel_distance']:.3f} (step {first['step']}) -> "
            f"{last['valid/mel_distance']:.3f} (step {last['step']})"
        )
    out_console.print(
        f"vocoder at {cfg.output} (step {summary['steps']}; {summary.get('train_utterances')} "
        f"training and {summary.get('valid_utterances')} held-out utterances"
        + (
            f"; {summary['checkpoint_bytes'] / 1e6:.1f} MB per resumable checkpoint)"
            if summary.get("checkpoint_bytes")
            else ")"
        )
    )
    if summary.get("skipped_short"):
        err_console.print(
            f"{summary['skipped_short']} utterance(s) shorter than one segment were not trained on"
        )
    if failed:
        err_console.print(f"{len(failed)} utterance(s) whose audio failed (above) were left out")
        return 1
    return 0


@vocoder_app.command("import")
def import_(
    checkpoint: Path = typer.Argument(
        ..., help="Released generator checkpoint (fairseq/speech-resynthesis/textlesslib)."
    ),
    config: Path = typer.Option(..., "--config", help="Its JSON config."),
    output: Path = typer.Option(..., "-o", "--output", help="Vocoder folder to write."),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Unpickle a checkpoint that needs it (only from a source you trust).",
    ),
    frame_rate: float = typer.Option(
        None, "--frame-rate", help="Unit rate, where the config has no code_hop_size."
    ),
    speakers: Path = typer.Option(
        None, "--speakers", help="speakers.txt naming the speaker table's rows."
    ),
    styles: Path = typer.Option(None, "--styles", help="styles.txt naming the style table's rows."),
) -> int:
    """Convert a released unit HiFi-GAN to config.json + model.safetensors, once."""
    from audiotok.vocoders.importer import import_checkpoint

    vc = import_checkpoint(
        checkpoint,
        config,
        output,
        allow_pickle=allow_pickle,
        frame_rate=frame_rate,
        speakers_path=speakers,
        styles_path=styles,
    )
    out_console.print(f"wrote {output}: {_describe(vc)}")
    return 0


@vocoder_app.command("info")
def info(
    vocoder: str = typer.Argument(..., help="Vocoder folder or registry name."),
) -> int:
    """What a vocoder decodes: units, rates, upsampling, speakers, the tokens it was trained on."""
    from audiotok.vocoders.config import VocoderConfig

    p = Path(vocoder)
    if p.exists():
        vc = VocoderConfig.load(p)
    else:
        from audiotok import registry, weights
        from audiotok.vocoders.loading import CONVERTED

        entry = registry.get(vocoder)
        folder = weights.model_dir(entry) / CONVERTED
        if not (folder / "config.json").is_file():
            out_console.print(
                f"{entry.name}: {entry.description}\nsource {entry.source}\n"
                f"licence {entry.license}\n"
                f"not converted on this machine yet (`audiotok models path {entry.name}` says "
                "where its files go)"
            )
            return 0
        vc = VocoderConfig.load(folder)
    out_console.print(_describe(vc))
    tok = vc.tokens.get("name") or (vc.tokenizer or {}).get("name")
    if tok or vc.codebook_sha256:
        out_console.print(
            f"trained on tokens of {tok or '?'} (codebook sha256 {vc.codebook_sha256 or 'unknown'})"
        )
    if vc.speakers:
        out_console.print(
            f"speakers: {', '.join(vc.speakers[:20])}{' ...' if len(vc.speakers) > 20 else ''}"
        )
    if vc.styles:
        out_console.print(
            f"styles: {', '.join(vc.styles[:20])}{' ...' if len(vc.styles) > 20 else ''}"
        )
    if vc.source:
        out_console.print(f"source: {vc.source}")
    return 0


def _describe(vc) -> str:
    cond = []
    if vc.num_speakers:
        cond.append(f"{vc.num_speakers} speakers")
    if vc.speaker_dim:
        cond.append(f"{vc.speaker_dim}-d speaker vectors")
    if vc.num_styles:
        cond.append(f"{vc.num_styles} styles")
    if vc.duration_predictor:
        cond.append("duration predictor")
    return (
        f"{vc.num_units} units at {vc.frame_rate:g} Hz -> {vc.sample_rate} Hz audio (hop "
        f"{vc.hop_length} = {' x '.join(map(str, vc.upsample_rates))}), "
        f"{vc.upsample_initial_channel} channels{', ' if cond else ''}{', '.join(cond)}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(vocoder_app, name="vocoder")
