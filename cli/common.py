"""Shared CLI pieces: consoles, output checks, error lines and corpus progress."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells, e.g. a SLURM
    allocation or a container's cpuset), not every core of the machine."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    return max(1, min(4, available_cores() - 1))


# Undo steps for what set_threads changed, run by cli.app.run when a command returns: the CLI
# called in-process (tests, a notebook) leaves the caller's threads and environment as found.
_undo: list[Any] = []


def restore_process_state() -> None:
    while _undo:
        _undo.pop()()


def set_threads(threads: int | None, workers: int) -> int:
    """torch's intra-op threads for this CLI process: ``threads`` where given, else the cores
    left after the ``workers`` decode processes (at least one). torch's own default (every
    core) oversubscribes the machine once decode workers run beside the model, and OpenMP
    threads that spin on a busy core slowed the default encode many times over
    (``benchmarks/cli_threads.py`` measures it). Decode workers started from here get one
    OpenMP/BLAS thread each (they decode one file at a time) unless the environment says
    otherwise. The CLI sets this; the library never does."""
    import torch

    n = int(threads) if threads else max(1, available_cores() - int(workers))
    before = torch.get_num_threads()
    _undo.append(lambda: torch.set_num_threads(before))
    torch.set_num_threads(n)
    if workers > 0:  # inherited by the decode processes the pipeline starts
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            if var not in os.environ:
                os.environ[var] = "1"
                _undo.append(lambda var=var: os.environ.pop(var, None))
    return n


def describe_spec(spec: Any) -> str:
    layer = f", layer {spec.layer}" if spec.layer is not None else ""
    return (
        f"{spec.name} ({spec.kind}{layer}): {spec.sample_rate} Hz audio, {spec.frame_rate:g} "
        f"frames/s{_rates(spec)}, K={spec.num_codebooks} x {spec.codebook_size}, "
        f"{spec.bitrate / 1000:.3g} kbps"
    )


def _rates(spec: Any) -> str:
    rates = getattr(spec, "codebook_frame_rates", ())
    return f" (codebooks at {' / '.join(f'{r:.3g}' for r in rates)} Hz)" if rates else ""


_reported: set[str] = set()


def report_error(item: Any, reason: str) -> None:
    """One stderr line per failed file: its path and the reason."""
    from rich.markup import escape

    line = f"{item.path}: {reason}"
    _reported.add(line)
    err_console.print(f"[red]error[/red]: {escape(line)}", soft_wrap=True)


def already_reported(message: str) -> bool:
    """True when ``message`` repeats a line :func:`report_error` printed (``--strict`` raises
    the failure it has just reported: the CLI must not print it twice)."""
    return any(message.startswith(line) for line in _reported)


def check_output_dir(path: str | os.PathLike[str], what: str = "--output") -> None:
    """Fail early, as one line, when ``path`` cannot be a folder we write into.

    Call it before loading a model: ``-o afile/sub``, ``-o /proc/foo``, a read-only or
    unwritable location are found by trying (a probe folder or file that is removed at once),
    so it is right for root and for ACLs too. Creates nothing that stays.
    """
    import tempfile

    from audiotok.errors import AudiotokError

    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise AudiotokError(f"{what} {p} exists and is not a folder: choose another path")
    probe_in = p
    while not probe_in.exists():
        parent = probe_in.parent
        if parent == probe_in:
            break
        probe_in = parent
    if probe_in.exists() and not probe_in.is_dir():
        raise AudiotokError(
            f"{what} {p}: {probe_in} is a file, so no folder can be made under it; "
            "choose another path"
        )
    try:
        if probe_in == p:
            with tempfile.TemporaryFile(dir=p, prefix=".audiotok-probe-"):
                pass
        else:
            os.rmdir(tempfile.mkdtemp(dir=probe_in, prefix=".audiotok-probe-"))
    except OSError as e:
        reason = e.strerror or str(e)
        raise AudiotokError(
            f"{what} {p}: cannot write in {probe_in} ({reason}); choose a folder you may write to"
        ) from None


def progress_interval() -> float:
    """Seconds between plain progress lines: ``AUDIOTOK_PROGRESS_INTERVAL`` (default 10)."""
    from audiotok.errors import AudiotokError

    raw = os.environ.get("AUDIOTOK_PROGRESS_INTERVAL", "").strip()
    if not raw:
        return 10.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise AudiotokError(
            f"AUDIOTOK_PROGRESS_INTERVAL={raw!r}: give a positive number of seconds"
        )
    return value


def corpus_progress(verb: str, quiet: bool) -> tuple[Any, Any]:
    """Progress over a corpus, on stderr: ``(progress, task)``.

    On a terminal, a rich bar; otherwise (logs, ``nohup``, batch jobs) one plain line every
    :func:`progress_interval` seconds: files done/total, audio seconds done/total, rate in
    seconds of audio per second, ETA. Nothing at all with ``quiet``. Contract for callers::

        progress, task = corpus_progress("encoding", quiet)
        with progress:
            progress.update(task, total=audio_seconds, files_total=n_files)  # when known
            progress.advance(task, seconds, files=n)  # after each batch is written
            progress.advance(task, 0, files=1)        # for each file that failed
    """
    if not quiet and not _stderr_is_terminal():
        from audiotok.cli.progress import PlainProgress

        plain = PlainProgress(verb, progress_interval(), sys.stderr)
        return plain, plain.add_task(verb, total=0)
    from audiotok.cli.progress import RichCorpusProgress

    progress = RichCorpusProgress(verb, console=err_console, disable=quiet)
    return progress, progress.add_task(verb, total=0, files_done=0, files_total=None)


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False
