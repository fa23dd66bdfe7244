"""``audiotok compare``: tokenizers side by side on one corpus (thin wrapper over
:func:`audiotok.metrics.compare.compare` and :mod:`audiotok.report.compare_page`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import err_console, out_console, report_error

RESULT = "compare.json"
SHOWN = {  # table column -> label
    "kbps": "kbit/s",
    "frame_rate": "frame rate Hz",
    "codebooks": "codebooks",
    "tokens_per_second": "tokens/s",
    "encode_realtime": "encode x real time",
    "entropy_bits": "entropy bits/codebook",
    "pnmi": "PNMI codebook 0",
    "abx_triphone_within": "ABX triphone within %",
    "abx_triphone_across": "ABX triphone across %",
    "abx_phoneme_within": "ABX phoneme within %",
    "abx_phoneme_across": "ABX phoneme across %",
    "stft_distance": "MR-STFT ↓",
    "mel_distance": "mel distance ↓",
    "si_sdr": "SI-SDR ↑",
    "pesq_wb": "PESQ ↑",
    "stoi": "STOI ↑",
    "uer": "UER ↓",
}


def _check_out(out: Path) -> None:
    from audiotok.errors import AudiotokError
    from audiotok.pipeline.api import check_output_dir

    check_output_dir(out)
    if out.is_dir() and any(out.iterdir()) and not (out / RESULT).is_file():
        raise AudiotokError(
            f"{out} is not empty and holds no earlier comparison ({RESULT}): choose a new folder"
        )


def print_table(result: dict[str, Any]) -> None:
    """One column per tokenizer, one row per figure (fits a terminal for a few models)."""
    from rich.table import Table

    from audiotok.report.compare_page import flat_row

    rows = [flat_row(r) for r in result["tokenizers"]]
    figures = ["kind", *[c for c in SHOWN if any(r.get(c) is not None for r in rows)]]
    table = Table(title=f"compare: {result['corpus']} ({result['files']} files)")
    table.add_column("")
    for r in rows:
        table.add_column(r["model"], justify="right", overflow="fold")
    for c in figures:
        cells = []
        for r in rows:
            v = r.get(c)
            if "error" in r:
                cells.append("[red]error[/red]" if c == "kind" else "")
            else:
                cells.append("-" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v))
        table.add_row(SHOWN.get(c, c), *cells)
    out_console.print(table)


def compare(
    corpus: Path = typer.Argument(..., help="Folder of audio files (the same for every model)."),
    models: str = typer.Option(
        ...,
        "--models",
        help="Comma-separated tokenizers, each 'name' or 'name:key=value:...' (builder options, "
        "e.g. encodec-24khz:pretrained=false:n_codebooks=2).",
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="Folder for compare.json, index.html and each model's tokens."
    ),
    align: Path = typer.Option(
        None, "--align", help="Folder of <utterance id>.tsv phone alignments: PNMI and ABX."
    ),
    vocoder: str = typer.Option(
        None, "--vocoder", help="Unit vocoder for the semantic tokenizers it was made for (UER)."
    ),
    metrics: str = typer.Option(
        None, help="Reconstruction metrics (default: every one whose package is installed)."
    ),
    device: str = typer.Option("cpu", help="cpu | cuda | cuda:N."),
    examples: int = typer.Option(2, min=0, help="Audio players per tokenizer on the page."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON instead of the table."),
) -> int:
    """Encode a corpus once per tokenizer and compare them: bitrate, tokens per second,
    encode speed, unit usage and entropy; with --align PNMI and ABX; codec reconstruction
    (mel, STFT, SI-SDR, PESQ, STOI); semantic resynthesis UER with --vocoder. Writes
    compare.json and index.html to --output and prints a table. Exit 1 if a tokenizer or a
    file failed (the rest are compared)."""
    from audiotok.metrics.compare import compare as run_compare
    from audiotok.report.compare_page import write_compare_report

    chosen = None
    if metrics is not None:
        from audiotok.eval import check_metrics

        chosen = check_metrics(metrics)
    _check_out(output)
    names = [m.strip() for m in models.split(",") if m.strip()]

    def done(spec: str, row: dict[str, Any]) -> None:
        if "error" in row:
            err_console.print(f"[red]error[/red]: {spec}: {row['error']}", soft_wrap=True)
        else:
            err_console.print(f"{spec}: {row['utterances']} utterances encoded", highlight=False)

    result = run_compare(
        corpus, names, output, align=align, vocoder=vocoder, metrics=chosen, device=device,
        on_error=report_error, on_model=done,
    )  # fmt: skip
    (output / RESULT).write_text(json.dumps(result, indent=2))
    index = write_compare_report(output, result, examples=examples)
    err_console.print(f"report: {index}")
    if as_json:
        out_console.print_json(json.dumps(result))
    else:
        print_table(result)
    failed = any(
        "error" in r or r.get("errors") or r.get("encode_errors") for r in result["tokenizers"]
    )
    return 1 if failed else 0


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
