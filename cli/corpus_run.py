"""What encode and extract share: the options that choose where the work runs (engine,
slice), the store's lock taken before any model loads, progress and error events, and the
summary lines."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import corpus_progress, err_console, out_console, report_error

# Options of the corpus commands that choose where the work runs (encode, extract)
EngineOpt = typer.Option("local", help="local (this machine) | ray (a Ray cluster; docs/scale.md).")
AddressOpt = typer.Option(
    None,
    help="--engine ray: the cluster to join (auto, or ray://HOST:10001); default: "
    "start a Ray on this machine.",
)
ActorsOpt = typer.Option(
    None,
    min=1,
    help="--engine ray: model actors (default: one per GPU, or as many as "
    "the CPUs hold with their decode tasks).",
)
NumGpusOpt = typer.Option(
    None,
    "--num-gpus",
    min=0.0,
    help="--engine ray: GPUs per actor (default 1 where the "
    "cluster has GPUs; 0.5 = two actors per GPU; 0 = CPU actors).",
)
ThreadsOpt = typer.Option(
    None,
    "--threads",
    min=1,
    help="torch threads of the model in this process (default: the cores left after "
    "--num-workers decode processes, at least 1).",
)
SliceOpt = typer.Option(
    None,
    "--slice",
    help="I/N (0-based): only slice I of N length-balanced slices of the corpus, "
    "into its own store; `audiotok merge` joins the slices.",
)
ShardOpt = typer.Option(
    None,
    "--shard",
    help="Deprecated spelling of --slice I/N (a shard is a Parquet file: --shard-size).",
)


def slice_from(slice_: str | None, shard: str | None) -> Any:
    """The corpus slice of ``--slice`` (or its deprecated spelling ``--shard``), or None."""
    from audiotok.errors import AudiotokError
    from audiotok.pipeline.slices import parse_slice

    if slice_ is not None and shard is not None:
        raise AudiotokError("give --slice I/N alone (--shard is its former spelling)")
    if shard is not None:
        err_console.print("[yellow]warning[/yellow]: --shard I/N is now --slice I/N")
        return parse_slice(shard, "--shard")
    return parse_slice(slice_) if slice_ is not None else None


def warn_line(message: str) -> None:
    err_console.print(f"[yellow]warning[/yellow]: {message}", soft_wrap=True)


def engine_from(
    engine: str,
    *,
    address: str | None,
    actors: int | None,
    num_gpus: float | None,
    device: str,
    dtype: str | None,
) -> Any:
    """The engine of ``--engine`` and its options (refused where they do not apply)."""
    from audiotok.pipeline.engine import EngineFlags, engine_for

    flags = EngineFlags(address, actors, num_gpus, device, dtype, warn=warn_line)
    return engine_for(engine, flags)


@contextlib.contextmanager
def store_run(output: Path, threads: int | None, num_workers: int) -> Iterator[None]:
    """The start of every command that writes a store: the output path checked, torch's
    threads set, and the store's lock held for the block, so that a second writer is refused
    before any model loads (the store writer opened inside borrows the lock)."""
    from audiotok.cli.common import check_output_dir, set_threads
    from audiotok.store.lock import reserve

    check_output_dir(output)
    set_threads(threads, num_workers)
    with reserve(output):
        yield


@contextlib.contextmanager
def corpus_events(verb: str, quiet: bool) -> Iterator[Any]:
    """The pipeline's Events wired to the progress display and the per-file error lines."""
    from audiotok.pipeline.local import Events

    progress, task = corpus_progress(verb, quiet)

    def on_error(item: Any, reason: str) -> None:
        report_error(item, reason)
        progress.advance(task, 0, files=1)

    def on_total(seconds: float, files: int) -> None:
        progress.update(task, total=seconds, files_total=files)

    def on_progress(seconds: float, files: int) -> None:
        progress.advance(task, seconds, files=files)

    with progress:
        yield Events(on_error=on_error, on_total=on_total, on_progress=on_progress)


def summary_line(summary: Any, output: Path, what: str) -> None:
    out_console.print(
        f"wrote {summary.encoded} {what} ({summary.seconds:.1f} s of audio, {summary.frames} "
        f"frames) to {output} in {summary.wall_s:.1f} s"
        + (f"; {summary.already_done} were already there" if summary.already_done else "")
        + (
            f"; {len(summary.errors)} failed (`audiotok info {output}` lists them)"
            if summary.errors
            else ""
        )
        + (
            f"; re-encoded {len(summary.repaired_shards)} broken shard(s)"
            if summary.repaired_shards
            else ""
        )
    )


def finish_line(summary: Any, output: Path) -> int:
    """Exit code: 1 when any input of the store is listed as failed, else 0."""
    return 1 if summary.errors else 0
