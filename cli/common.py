"""Shared CLI pieces: option types, the stderr console, the tokenizer from CLI options."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)

DEFAULT_MODEL = {"semantic": "mfcc-km100", "acoustic": "encodec-24khz", "hybrid": None}


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def tokenizer_from_options(
    kind: str | None,
    model: str | None,
    *,
    weights: str | None = None,
    codebook: str | None = None,
    layer: int | None = None,
    bandwidth: float | None = None,
    n_codebooks: int | None = None,
    device: str = "auto",
    allow_pickle: bool = False,
    dtype: str | None = None,
) -> Any:
    from audiotok.errors import AudiotokError
    from audiotok.factory import TOKENIZER_KINDS, load_tokenizer
    from audiotok.tokenizer import resolve_device

    if kind is not None and kind not in TOKENIZER_KINDS:
        raise AudiotokError(f"unknown --kind {kind!r}: use one of {', '.join(TOKENIZER_KINDS)}")
    if model is None:
        if codebook is not None:
            model = codebook
        else:
            model = DEFAULT_MODEL.get(kind or "semantic")
            if model is None:
                raise AudiotokError(f"--kind {kind} has no default model yet: pass --model NAME")
    options: dict[str, Any] = {"device": resolve_device(device), "weights": weights}
    if codebook is not None and model != codebook:
        options["codebook"] = codebook
    if layer is not None:
        options["layer"] = layer
    if bandwidth is not None:
        options["bandwidth"] = bandwidth
    if n_codebooks is not None:
        options["n_codebooks"] = n_codebooks
    if allow_pickle:
        options["allow_pickle"] = True
    if dtype is not None:
        options["dtype"] = dtype
    return load_tokenizer(model, kind=kind, **options)


def describe_spec(spec: Any) -> str:
    layer = f", layer {spec.layer}" if spec.layer is not None else ""
    return (
        f"{spec.name} ({spec.kind}{layer}): {spec.sample_rate} Hz audio, {spec.frame_rate:g} "
        f"frames/s, K={spec.num_codebooks} x {spec.codebook_size}, {spec.bitrate / 1000:.3g} kbps"
    )


def report_error(item: Any, reason: str) -> None:
    """One stderr line per failed file: its path and the reason."""
    err_console.print(f"[red]error[/red]: {item.path}: {reason}", soft_wrap=True)


def corpus_progress(verb: str, quiet: bool) -> tuple[Any, Any]:
    """A progress bar over seconds of audio, on stderr: (progress, task)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn(verb),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    )
    return progress, progress.add_task(verb, total=0)
