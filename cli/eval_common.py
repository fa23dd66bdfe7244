"""What the ``audiotok eval`` commands share: options, the work folder, and how results are
printed (a table or JSON on stdout, problems on stderr) and rendered (``--html``)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import default_workers, err_console, out_console

LABELS = {
    "uer": "UER ↓",
    "mel_distance": "mel dist ↓",
    "stft_distance": "MR-STFT ↓",
    "si_sdr": "SI-SDR dB ↑",
    "pesq_wb": "PESQ-wb ↑",
    "stoi": "STOI ↑",
}


def print_result(result: Any, as_json: bool) -> int:
    """An :class:`~audiotok.eval.EvalResult` as JSON or a table, its unpaired ids and failed
    metrics on stderr; the exit code: 1 when a file failed to encode or score, else 0."""
    from rich.markup import escape
    from rich.table import Table

    for side, where in (("reference_only", "references"), ("decoded_only", "decoded files")):
        for utt in (result.unpaired or {}).get(side, []):
            err_console.print(f"[yellow]unpaired[/yellow]: {escape(utt)} is among the {where} only")
    if as_json:
        out_console.print_json(json.dumps(result.to_dict()))
    else:
        names, summary = result.metrics, result.summary
        kbps = [f"{result.bitrate_bps / 1000:.3g}"] if result.bitrate_bps is not None else []
        table = Table(title=result.title)
        table.add_column("id")
        for m in names:
            table.add_column(LABELS.get(m, m), justify="right")
        if kbps:
            table.add_column("kbps", justify="right")
        for f in result.files:
            cells = [f"{f.scores[m]:.3f}" if m in f.scores else "[red]error[/red]" for m in names]
            table.add_row(escape(f.id), *cells, *kbps)
        means = [
            f"{summary[m]['mean']:.3f}" if summary[m]["mean"] is not None else "-" for m in names
        ]
        table.add_row(
            f"[bold]mean ({len(result.files)} files)[/bold]", *means, *kbps, end_section=True
        )
        out_console.print(table)
    for f in result.failed:
        for name, why in f.errors.items():
            err_console.print(
                f"[red]error[/red]: {escape(f'{f.id}: {name}: {why}')}", soft_wrap=True
            )
    if result.failed:
        err_console.print(
            f"{len(result.failed)} file(s) had a metric fail; means leave them out "
            "of that metric (n per metric in --json)"
        )
    if result.encode_errors:
        err_console.print(f"{len(result.encode_errors)} file(s) could not be encoded (above)")
    return 0 if result.complete else 1


HtmlOpt = typer.Option(
    None,
    "--html",
    help="Write a self-contained HTML report here (index.html, spectrograms, audio players).",
)
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
MetricsOpt = typer.Option(
    None, help="Comma-separated subset of mel_distance, stft_distance, si_sdr, pesq_wb, stoi."
)
DeviceOpt = typer.Option("auto", help="auto | cpu | cuda | cuda:N.")
WorkOpt = typer.Option(
    None,
    "-o",
    "--output",
    help="Keep tokens/ and decoded/ here (default: a temporary folder, removed after).",
)
WorkersOpt = typer.Option(
    default_workers(),
    "--num-workers",
    min=0,
    help="Processes that read audio (0: in the main process).",
)


def run_options(num_workers: int):
    from audiotok.pipeline.local import RunOptions

    return RunOptions(num_workers=num_workers)


@contextmanager
def work_dir(output: Path | None, html: Path | None) -> Iterator[Path]:
    if html is not None:
        from audiotok.eval.scoring import require

        require({"html": "matplotlib"}, ("html",))
    with tempfile.TemporaryDirectory(prefix="audiotok-eval-") as tmp:
        yield output if output is not None else Path(tmp)


def finish(result: Any, as_json: bool, html: Path | None, plot: Path | None = None) -> int:
    if plot is not None:
        from audiotok.metrics.plots import plot_pair

        for f in result.files:
            plot_pair(f.ref, f.decoded, f.id, plot)
    if html is not None:  # while the decoded audio still exists
        from audiotok.report.eval_pages import eval_report

        err_console.print(f"report: {eval_report(result, html)}")
    return print_result(result, as_json)


def print_codebooks(result: Any, as_json: bool, plot: Path | None, html: Path | None) -> int:
    """A :class:`~audiotok.eval.CodebooksResult`: its plot and report, then JSON or a table."""
    from audiotok.metrics.codebooks import format_table, plot_codebooks

    if plot is not None:
        plot_codebooks(result.probe, plot, title=f"{result.probe['name']}: PNMI per codebook")
    if html is not None:
        from audiotok.report.eval_pages import codebooks_report

        err_console.print(f"report: {codebooks_report(result, html)}")
    if as_json:
        out_console.print_json(json.dumps(result.to_dict()))
    else:
        out_console.print(format_table(result.probe), highlight=False, soft_wrap=True)
        if plot is not None:
            out_console.print(f"plot: {plot}")
    return 0
