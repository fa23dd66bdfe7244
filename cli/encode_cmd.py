"""audiotok encode: a corpus -> a token store."""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import (
    corpus_progress,
    default_workers,
    describe_spec,
    err_console,
    out_console,
    report_error,
)


def encode(
    inputs: list[Path] = typer.Argument(
        ..., help="Audio files, folders (scanned recursively) or manifests (.tsv/.jsonl)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Token store directory."),
    kind: str = typer.Option("semantic", help="semantic | acoustic | hybrid."),
    model: str = typer.Option(
        None,
        help="Registry name or path (default: mfcc-km100 for semantic, encodec-24khz "
        "for acoustic). `audiotok models list` shows the names.",
    ),
    weights: str = typer.Option(None, help="Local weights file for --model (offline use)."),
    codebook: str = typer.Option(None, help="k-means codebook (.safetensors) for semantic."),
    layer: int = typer.Option(None, help="S3M layer (0 = transformer input, n = layer n)."),
    bandwidth: float = typer.Option(None, help="Codec bandwidth in kbps (EnCodec)."),
    n_codebooks: int = typer.Option(None, "--n-codebooks", help="Keep the first K RVQ codebooks."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    dtype: str = typer.Option(
        None, help="S3M compute dtype on GPU: float32 | float16 | bfloat16 (default float32)."
    ),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Convert a fairseq .pt checkpoint (a pickle) once to "
        "safetensors. Only for files you trust.",
    ),
    batch_seconds: float = typer.Option(60.0, help="Padded audio per batch, in seconds."),
    num_workers: int = typer.Option(
        default_workers(), help="Processes that decode and resample (0: in the main process)."
    ),
    shard_size: int = typer.Option(1000, help="Utterances per Parquet shard."),
    max_duration: float = typer.Option(
        7200.0, help="Files longer than this (seconds) are reported and skipped."
    ),
    overwrite: bool = typer.Option(False, help="Start the store again instead of resuming."),
    strict: bool = typer.Option(False, help="Stop at the first file that fails."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
) -> int:
    """Tokenize every audio file of a corpus into a token store (resumes where one exists)."""
    from audiotok.cli.common import tokenizer_from_options
    from audiotok.corpus import scan
    from audiotok.engine import encode_corpus
    from audiotok.errors import AudiotokError

    if output.exists() and not output.is_dir():
        raise AudiotokError(f"output {output} exists and is not a directory")
    # Build the model first: a missing weights file fails before any work.
    tok = tokenizer_from_options(
        kind,
        model,
        weights=weights,
        codebook=codebook,
        layer=layer,
        bandwidth=bandwidth,
        n_codebooks=n_codebooks,
        device=device,
        allow_pickle=allow_pickle,
        dtype=dtype,
    )
    items = scan(inputs)
    if not items:
        raise AudiotokError(f"no audio files found in {', '.join(map(str, inputs))}")
    err_console.print(f"{len(items)} files; tokenizer {describe_spec(tok.spec)} on {tok.device}")

    progress, task = corpus_progress("encoding", quiet)
    run = {
        "inputs": [str(p.resolve()) for p in inputs],
        "batch_seconds": batch_seconds,
        "device": tok.device,
        "weights": tok.weights_path,
    }
    with progress:
        summary = encode_corpus(
            items,
            tok,
            output,
            batch_seconds=batch_seconds,
            num_workers=num_workers,
            overwrite=overwrite,
            strict=strict,
            shard_size=shard_size,
            max_duration=max_duration,
            run_params=run,
            on_error=report_error,
            progress=lambda s: progress.advance(task, s),
            on_total=lambda s: progress.update(task, total=s),
        )
    failed = len(summary.errors)
    out_console.print(
        f"wrote {summary.encoded} utterances ({summary.seconds:.1f} s of audio, {summary.frames} "
        f"frames) to {output} in {summary.wall_s:.1f} s"
        + (f"; {summary.already_done} were already there" if summary.already_done else "")
        + (f"; {failed} failed (listed in {output}/manifest.json)" if failed else "")
    )
    return 1 if failed else 0


def register(app: typer.Typer) -> None:
    app.command("encode")(encode)
