"""audiotok extract: a corpus -> layer features for k-means (float16 shards + lengths)."""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import (
    corpus_progress,
    default_workers,
    err_console,
    out_console,
    report_error,
)


def extract(
    inputs: list[Path] = typer.Argument(
        ..., help="Audio files, folders (scanned recursively) or manifests (.tsv/.jsonl)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Feature directory."),
    model: str = typer.Option(
        "mfcc",
        help="Extractor: registry name (hubert-base-ls960, wavlm-large, mfcc, ...) or a "
        "Hugging Face model folder. `audiotok models list --kind extractor` shows the names.",
    ),
    layer: str = typer.Option(
        None,
        help="Layers, e.g. 6 or 6,12,24 or all (0 = transformer input, n = output of "
        "layer n; default: the last). One folder per layer.",
    ),
    weights: str = typer.Option(
        None,
        help="Local weights for --model: HF folder, HF/torchaudio weights file, or a "
        "fairseq .pt (needs --allow-pickle).",
    ),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Allow unpickling a fairseq .pt once to convert it to "
        "safetensors (only for checkpoints you trust).",
    ),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    dtype: str = typer.Option("float32", help="float32 | fp16 | bf16 (autocast; GPU only)."),
    batch_seconds: float = typer.Option(60.0, help="Padded audio per batch, in seconds."),
    num_workers: int = typer.Option(default_workers(), help="Decoding processes (0: inline)."),
    shard_size: int = typer.Option(1000, help="Utterances per shard."),
    max_duration: float = typer.Option(7200.0, help="Longer files (s) are reported, skipped."),
    fairseq: Path = typer.Option(
        None,
        help="Also export to fairseq's k-means layout in this folder ({split}_0_1.npy "
        "float32 + .len); rerunning on a finished store only exports.",
    ),
    split: str = typer.Option("train", help="Split name of the fairseq export."),
    overwrite: bool = typer.Option(False, help="Start again instead of resuming."),
    strict: bool = typer.Option(False, help="Stop at the first file that fails."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
) -> int:
    """Extract features of every audio file of a corpus (resumes where a store exists)."""

    from audiotok import extractors
    from audiotok.corpus import scan
    from audiotok.errors import AudiotokError
    from audiotok.extractors.extract import extract_corpus
    from audiotok.extractors.features_store import layer_dir, open_features
    from audiotok.tokenizer import resolve_device

    dev = resolve_device(device)
    options: dict = {}
    if model != "mfcc":
        options = {"layers": layer, "device": dev, "dtype": dtype, "allow_pickle": allow_pickle}
        if weights:
            options["weights"] = weights
    elif layer is not None or weights is not None:
        raise AudiotokError("--model mfcc has no layers or weights; drop --layer/--weights")
    ex = extractors.load(model, **options)  # fails before any work when weights are missing
    if model == "mfcc":
        ex.to(dev)
    items = scan(inputs)
    if not items:
        raise AudiotokError(f"no audio files found in {', '.join(map(str, inputs))}")
    layers = getattr(ex, "layers", None)
    err_console.print(
        f"{len(items)} files; {ex.name}"
        + (f" layers {list(layers)}" if layers else "")
        + f", {ex.dim} dims, {ex.frame_rate:g} frames/s on {dev}"
    )

    progress, task = corpus_progress("extracting", quiet)
    run = {
        "inputs": [str(p.resolve()) for p in inputs],
        "device": dev,
        "dtype": dtype,
        "weights": getattr(ex, "weights_path", ""),
    }
    with progress:
        summary = extract_corpus(
            items,
            ex,
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
        f"wrote features of {summary.encoded} utterances ({summary.seconds:.1f} s, "
        f"{summary.frames} frames) to {output} in {summary.wall_s:.1f} s"
        + (f"; {summary.already_done} were already there" if summary.already_done else "")
        + (f"; {failed} failed (listed in {output}/manifest.json)" if failed else "")
    )
    if fairseq is not None:
        store = open_features(output)
        for la in store.layers:
            dest = fairseq if len(store.layers) == 1 else fairseq / layer_dir(la)
            npy, ln = store.export_fairseq(dest, la, split)
            out_console.print(f"fairseq layout: {npy} + {ln}")
    return 1 if failed else 0


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
