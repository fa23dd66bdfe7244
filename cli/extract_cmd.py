"""audiotok extract: a corpus -> layer features for k-means (float16 shards + lengths)."""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import default_workers, err_console, out_console
from audiotok.cli.corpus_run import (
    ActorsOpt,
    AddressOpt,
    EngineOpt,
    NumGpusOpt,
    ShardOpt,
    SliceOpt,
    ThreadsOpt,
    corpus_events,
    engine_from,
    finish_line,
    slice_from,
    store_run,
    summary_line,
    warn_line,
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
    dtype: str = typer.Option(None, help="float32 | fp16 | bf16 (autocast; GPU only)."),
    batch_seconds: float = typer.Option(60.0, min=0.001, help="Padded audio per batch (s)."),
    num_workers: int = typer.Option(
        default_workers(),
        min=0,
        help="Decoding processes (0: inline); --engine ray: decode tasks per actor (0: the "
        "actors decode).",
    ),
    shard_size: int = typer.Option(1000, min=1, help="Utterances per shard."),
    max_duration: float = typer.Option(
        7200.0, min=0.001, help="Longer files (s) are reported, skipped."
    ),
    fairseq: Path = typer.Option(
        None,
        help="Also export to fairseq's k-means layout in this folder ({split}_0_1.npy "
        "float32 + .len); rerunning on a finished store only exports.",
    ),
    split: str = typer.Option("train", help="Split name of the fairseq export."),
    overwrite: bool = typer.Option(False, help="Start again instead of resuming."),
    strict: bool = typer.Option(False, help="Stop at the first file that fails."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress bar."),
    threads: int = ThreadsOpt,
    engine: str = EngineOpt,
    address: str = AddressOpt,
    actors: int = ActorsOpt,
    num_gpus: float = NumGpusOpt,
    slice_: str = SliceOpt,
    shard: str = ShardOpt,
) -> int:
    """Extract features of every audio file of a corpus (resumes where a store exists)."""
    from audiotok.errors import AudiotokError
    from audiotok.extractors import extractor_for
    from audiotok.pipeline.api import extract_corpus, scan_inputs
    from audiotok.pipeline.local import LocalEngine, RunOptions
    from audiotok.store.features import layer_dir, open_features

    options = RunOptions(batch_seconds, num_workers, max_duration, strict)
    options.check()
    eng = engine_from(
        engine, address=address, actors=actors, num_gpus=num_gpus, device=device, dtype=dtype
    )
    corpus_slice = slice_from(slice_, shard)
    local = isinstance(eng, LocalEngine)
    with store_run(output, threads, num_workers):
        # fails before any work when weights are missing or an option does not apply
        ex, recipe = extractor_for(
            model, layers=layer, weights=weights, allow_pickle=allow_pickle, dtype=dtype,
            device=device if local else "cpu",  # elsewhere the driver's copy only plans
        )  # fmt: skip
        items, problems = scan_inputs(inputs)
        if not items and not problems:
            raise AudiotokError(f"no audio files found in {', '.join(map(str, inputs))}")
        layers = getattr(ex, "layers", None)
        err_console.print(
            f"{len(items)} files; {ex.name}"
            + (f" layers {list(layers)}" if layers else "")
            + f", {ex.dim} dims, {ex.frame_rate:g} frames/s on "
            + (str(ex.device) if local else f"--engine {engine}")
        )
        run = {
            "inputs": [str(p.resolve()) for p in inputs],
            "device": ex.device,
            "weights": getattr(ex, "weights_path", ""),
        }
        with corpus_events("extracting", quiet) as events:
            summary = extract_corpus(
                items,
                ex,
                output,
                engine=eng,
                slice=corpus_slice,
                options=options,
                events=events,
                overwrite=overwrite,
                shard_size=shard_size,
                run_params=run,
                problems=problems,
                recipe=recipe,
                warn=warn_line,
            )
        summary_line(summary, output, "utterances' features")
    if fairseq is not None:
        store = open_features(output)
        for la in store.layers:
            dest = fairseq if len(store.layers) == 1 else fairseq / layer_dir(la)
            npy, ln = store.export_fairseq(dest, la, split)
            out_console.print(f"fairseq layout: {npy} + {ln}")
    return finish_line(summary, output)


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
