"""What encode and extract share: progress and error events, and the summary lines."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from audiotok.cli.common import corpus_progress, out_console, report_error


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
