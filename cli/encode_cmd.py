"""audiotok encode: a corpus -> a token store."""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import default_workers
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


def encode(
    inputs: list[Path] = typer.Argument(
        ..., help="Audio files, folders (scanned recursively) or manifests (.tsv/.jsonl)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Token store directory."),
    kind: str = typer.Option(
        None,
        help="semantic | acoustic | hybrid: the kind --model must make (default: the model's "
        "own; without --model, semantic).",
    ),
    model: str = typer.Option(
        None,
        help="Registry name or path (default: mfcc-km100 for semantic, encodec-24khz "
        "for acoustic, speechtokenizer-hubert-avg for hybrid). `audiotok models list` shows "
        "the names.",
    ),
    weights: str = typer.Option(None, help="Local weights file for --model (offline use)."),
    codebook: str = typer.Option(None, help="k-means codebook (.safetensors) for semantic."),
    layer: int = typer.Option(None, help="S3M layer (0 = transformer input, n = layer n)."),
    bandwidth: float = typer.Option(None, help="Codec bandwidth in kbps (EnCodec)."),
    n_codebooks: int = typer.Option(
        None, "--n-codebooks", min=1, help="Keep the first K RVQ codebooks."
    ),
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
    batch_seconds: float = typer.Option(
        60.0, min=0.001, help="Padded audio per batch, in seconds."
    ),
    num_workers: int = typer.Option(
        default_workers(),
        min=0,
        help="Decoding processes (0: in the main process); --engine ray: decode tasks per "
        "actor (0: the actors decode).",
    ),
    shard_size: int = typer.Option(1000, min=1, help="Utterances per Parquet shard (at most)."),
    shard_mb: float = typer.Option(
        256.0, min=0.001, help="Codes per Parquet shard, in MB (at most)."
    ),
    max_duration: float = typer.Option(
        7200.0, min=0.001, help="Files longer than this (seconds) are reported and skipped."
    ),
    overwrite: bool = typer.Option(False, help="Start the store again instead of resuming."),
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
    """Tokenize every audio file of a corpus into a token store (resumes where one exists)."""
    from audiotok.cli.common import describe_spec, err_console
    from audiotok.errors import AudiotokError
    from audiotok.factory import tokenizer_for
    from audiotok.pipeline.api import encode_corpus, scan_inputs
    from audiotok.pipeline.local import LocalEngine, RunOptions

    options = RunOptions(batch_seconds, num_workers, max_duration, strict)
    options.check()
    eng = engine_from(
        engine, address=address, actors=actors, num_gpus=num_gpus, device=device, dtype=dtype
    )
    corpus_slice = slice_from(slice_, shard)
    local = isinstance(eng, LocalEngine)
    with store_run(output, threads, num_workers):
        # Build the model first: a missing weights file fails before any work.
        tok = tokenizer_for(
            kind,
            model,
            codebook=codebook,
            device=device if local else "cpu",  # elsewhere the driver's copy only plans
            weights=weights,
            layer=layer,
            bandwidth=bandwidth,
            n_codebooks=n_codebooks,
            allow_pickle=allow_pickle,
            dtype=dtype,
        )
        items, problems = scan_inputs(inputs)
        if not items and not problems:
            raise AudiotokError(f"no audio files found in {', '.join(map(str, inputs))}")
        where = tok.device if local else f"--engine {engine}"
        err_console.print(f"{len(items)} files; tokenizer {describe_spec(tok.spec)} on {where}")
        run = {
            "inputs": [str(p.resolve()) for p in inputs],
            "batch_seconds": batch_seconds,
            "device": tok.device,
            "weights": tok.weights_path,
        }
        with corpus_events("encoding", quiet) as events:
            summary = encode_corpus(
                items,
                tok,
                output,
                engine=eng,
                slice=corpus_slice,
                options=options,
                events=events,
                overwrite=overwrite,
                shard_size=shard_size,
                shard_bytes=int(shard_mb * (1 << 20)),
                run_params=run,
                problems=problems,
                warn=warn_line,
            )
        summary_line(summary, output, "utterances")
        return finish_line(summary, output)


def register(app: typer.Typer) -> None:
    app.command("encode")(encode)
