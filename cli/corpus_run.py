"""What encode and extract share: progress and error events, and the summary lines."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import corpus_progress, out_console, report_error

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
ShardOpt = typer.Option(
    None,
    help="I/N (0-based): only slice I of N length-balanced slices of the corpus, "
    "into its own store; `audiotok merge` joins the slices.",
)


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
