"""``audiotok eval abx``: ABX phone discriminability of features or units (thin wrapper over
:mod:`audiotok.metrics.abx`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import err_console, out_console

LABELS = {
    "triphone_within": "triphone, within speaker",
    "triphone_across": "triphone, across speaker",
    "phoneme_within": "phoneme, within speaker",
    "phoneme_across": "phoneme, across speaker",
}


def _split(spec: str | None) -> list[str] | None:
    return [s.strip() for s in spec.split(",") if s.strip()] if spec else None


def load_items(align: Path | None, item: Path | None, speakers: Path | None) -> list[Any]:
    """Items from ``--item`` (ZeroSpeech .item) or ``--align`` (folder of <id>.tsv)."""
    from audiotok.errors import AudiotokError
    from audiotok.metrics.abx_items import items_from_alignments, read_item_file, read_speakers

    if (align is None) == (item is None):
        raise AudiotokError("pass exactly one of --align DIR (<id>.tsv files) or --item FILE")
    if item is not None:
        if speakers is not None:
            raise AudiotokError("--speakers applies to --align; an .item file names speakers")
        return read_item_file(item)
    spk = read_speakers(speakers) if speakers is not None else None
    assert align is not None
    return items_from_alignments(align, speaker_of=spk)


def format_table(result: dict[str, Any], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("condition")
    table.add_column("ABX error %", justify="right")
    table.add_column("cells", justify="right")
    for name, score in result["scores"].items():
        shown = "-" if score is None else f"{score:.2f}"
        table.add_row(LABELS.get(name, name), shown, str(result["cells"][name]))
    return table


def abx(
    source: Path = typer.Argument(
        ..., help="Token store, feature store (audiotok extract), or audio corpus with --model."
    ),
    align: Path = typer.Option(
        None, "--align", help="Folder of <utterance id>.tsv phone alignments (start, end, phone)."
    ),
    item: Path = typer.Option(None, "--item", help="A ZeroSpeech/libri-light .item file."),
    speakers: Path = typer.Option(
        None,
        "--speakers",
        help="'<utterance id> <speaker>' per line (default: the id's folder, or its part "
        "before the first - or _).",
    ),
    model: str = typer.Option(None, "--model", help="Extractor for an audio corpus."),
    layer: int = typer.Option(None, "--layer", help="Layer of the extractor or feature store."),
    units: str = typer.Option(
        "onehot", "--units", help="Unit vectors for token stores: onehot or centroids."
    ),
    centroids: Path = typer.Option(
        None, "--centroids", help="k-means codebook for --units centroids (default: the store's)."
    ),
    codebooks: str = typer.Option(
        None, "--codebooks", help="Codebooks of a multi-codebook store to use, e.g. 0 or 0,1."
    ),
    distance: str = typer.Option(
        "cosine", "--distance", help="cosine (= angular), euclidean, kl, kl_symmetric."
    ),
    conditions: str = typer.Option("triphone,phoneme", help="triphone and/or phoneme."),
    speaker_modes: str = typer.Option("within,across", help="within and/or across."),
    max_size_group: int = typer.Option(10, min=2, help="Tokens drawn per group at most."),
    max_x_across: int = typer.Option(5, min=1, help="X speakers drawn per group at most."),
    seed: int = typer.Option(3459, help="Seed of the draws."),
    device: str = typer.Option("cpu", help="Device of the extractor (audio only)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    html: Path = typer.Option(None, "--html", help="Write a self-contained HTML report here."),
) -> int:
    """ABX error rates (ZeroSpeech / libri-light): can phone X be told from another phone by
    frame-averaged DTW distance, in triphone and phoneme conditions, within and across
    speakers. Scores equal zerospeech-libriabx2 on the same input (when no draws are needed)."""
    from audiotok.metrics.abx import abx as run_abx
    from audiotok.metrics.abx_sources import open_source

    items = load_items(align, item, speakers)
    picked = [int(c) for c in _split(codebooks) or []] or None
    src = open_source(
        source,
        model=model,
        layer=layer,
        embedding=units,
        centroids=centroids,
        codebooks=picked,
        device=device,
    )
    result = run_abx(
        src.frames,
        items,
        src.frame_rate,
        distance=distance,
        conditions=_split(conditions) or (),
        speaker_modes=_split(speaker_modes) or (),
        max_size_group=max_size_group,
        max_x_across=max_x_across,
        seed=seed,
    )
    result = {**src.describe, "frame_rate": src.frame_rate, **result}
    result["failures"] = [{"id": i, "reason": r} for i, r in src.failures]
    for i, r in src.failures:
        err_console.print(f"failed: {i}: {r}", highlight=False)
    if result["missing_files"]:
        err_console.print(
            f"note: {result['missing_files']} utterance(s) named by the items have no frames "
            f"in {source}; {result['empty_items']} item(s) were shorter than one frame",
            highlight=False,
        )
    title = f"ABX of {result.get('name') or source}"
    if html is not None:
        err_console.print(f"report: {html_report(html, title, result)}")
    if as_json:
        out_console.print_json(json.dumps(result))
    else:
        out_console.print(format_table(result, title))
    return 1 if src.failures else 0


def html_report(out: Path, title: str, result: dict[str, Any]) -> Path:
    from audiotok.report import write_report

    rows = [
        {"condition": LABELS.get(k, k), "abx_error_pct": v, "cells": result["cells"][k]}
        for k, v in result["scores"].items()
    ]
    settings = ("distance", "normalized", "max_size_group", "max_x_across", "seed")
    return write_report(
        out,
        title=title,
        summary={
            "items": result["items"],
            "phones": result["phones"],
            "speakers": result["speakers"],
            "DTW pairs": result["dtw_pairs"],
            "frame rate": result["frame_rate"],
            **{k: result[k] for k in settings},
        },
        extra_tables={"ABX error rates (%)": rows},
        notes=(
            "ABX error: how often X (phone a) is closer to B (phone b) than to A (phone a) "
            "by frame-averaged DTW; 50 % is chance. Triphone: A, B, X share their context.",
        ),
    )
