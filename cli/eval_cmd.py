"""audiotok eval: how well decoded audio matches its reference.

``eval recon REF DECODED`` scores folders paired by id; ``eval roundtrip CORPUS --model M``
encodes, decodes and scores in one go; ``eval abx`` (``cli/eval_abx.py``) scores phone
discriminability. Exit codes: 0 all scored, 1 some file or metric
failed (listed; failures never count as scores), 2 bad usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer

from audiotok.cli.common import describe_spec, err_console, out_console, report_error
from audiotok.cli.eval_abx import abx as abx_command

eval_app = typer.Typer(
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
    help="Score decoded audio against references (codec evaluation).",
    no_args_is_help=True,
)

LABELS = {
    "uer": "UER ↓",
    "mel_distance": "mel dist ↓",
    "stft_distance": "MR-STFT ↓",
    "si_sdr": "SI-SDR dB ↑",
    "pesq_wb": "PESQ-wb ↑",
    "stoi": "STOI ↑",
}


def _metrics(spec: str | None) -> tuple[str, ...]:
    from audiotok.errors import AudiotokError
    from audiotok.metrics import METRICS

    names = METRICS if not spec else tuple(m.strip() for m in spec.split(",") if m.strip())
    bad = [m for m in names if m not in METRICS]
    if bad:
        raise AudiotokError(f"unknown metric(s) {', '.join(bad)}: use {', '.join(METRICS)}")
    _require({"pesq_wb": "pesq", "stoi": "pystoi"}, names)
    return names


HtmlOpt = typer.Option(
    None,
    "--html",
    help="Write a self-contained HTML report here (index.html, spectrograms, audio players).",
)
SAMPLE_METRIC = {  # metric that picks the best/median/worst examples, and which end is best
    "pesq_wb": True,
    "si_sdr": True,
    "stoi": True,
    "mel_distance": False,
    "stft_distance": False,
    "uer": False,
}


def html_report(
    out: Path,
    title: str,
    files: list[Any],
    metrics: tuple[str, ...],
    summary: dict[str, Any],
    *,
    recipe: dict[str, Any] | None,
    bitrate_bps: float | None,
    unit_usage: Any = None,
    notes: tuple[str, ...] = (),
) -> Path:
    """The evaluation as one self-contained folder (audiotok.report.write_report)."""
    from audiotok.report import write_report

    rows = [
        {
            "id": f.id,
            **{m: f.scores.get(m, "error") for m in metrics},
            "ref_wav_path": f.ref,
            "dec_wav_path": f.decoded,
        }
        for f in files
    ]
    pick = next((m for m in SAMPLE_METRIC if m in metrics), metrics[0] if metrics else None)
    return write_report(
        out,
        title=title,
        recipe=recipe,
        bitrate_bps=bitrate_bps,
        summary={m: v for m, v in summary.items() if m in metrics},
        files=rows,
        sample_metric=pick,
        higher_is_better=SAMPLE_METRIC.get(pick or "", True),
        unit_usage=unit_usage,
        notes=notes,
    )


def _require(packages: dict[str, str], wanted: tuple[str, ...]) -> None:
    """A missing optional package is one line before any work, not an error per file."""
    import importlib.util

    from audiotok.errors import AudiotokError

    missing = sorted(
        {p for m, p in packages.items() if m in wanted and not importlib.util.find_spec(p)}
    )
    if missing:
        raise AudiotokError(
            f"{', '.join(missing)} not installed: pip install 'audiotok[eval]' "
            "(or choose --metrics without them)"
        )


def run_recon(
    ref_dir: Path,
    decoded_dir: Path,
    *,
    bitrate_bps: float | None,
    as_json: bool,
    plot_dir: Path | None,
    metrics: tuple[str, ...],
    extra: dict[str, Any] | None = None,
    html: Path | None = None,
    recipe: dict[str, Any] | None = None,
    title: str = "",
) -> int:
    from rich.table import Table

    from audiotok.errors import AudiotokError
    from audiotok.metrics.recon import pair_dirs, score_files, summarize

    for d in (ref_dir, decoded_dir):
        if not d.is_dir():
            raise AudiotokError(f"{d} is not a folder")
    pairing = pair_dirs(ref_dir, decoded_dir)
    for utt in pairing.only_ref:
        err_console.print(f"[yellow]unpaired[/yellow]: {utt} is in {ref_dir} only")
    for utt in pairing.only_decoded:
        err_console.print(f"[yellow]unpaired[/yellow]: {utt} is in {decoded_dir} only")
    if not pairing.pairs:
        raise AudiotokError(
            f"no file of {decoded_dir} has a reference with the same id in "
            f"{ref_dir} (ids are paths without extension)"
        )
    files = score_files(pairing, metrics)
    summary = summarize(files, metrics)
    if bitrate_bps is not None:
        summary["bitrate_kbps"] = bitrate_bps / 1000
    if plot_dir is not None:
        from audiotok.metrics.plots import plot_pair

        for utt, ref, dec in pairing.pairs:
            plot_pair(ref, dec, utt, plot_dir)
    failed = [f for f in files if f.errors]
    if html is not None:
        index = html_report(
            html, title or f"reconstruction: {decoded_dir} vs {ref_dir}", files, metrics,
            summary, recipe=recipe, bitrate_bps=bitrate_bps,
        )  # fmt: skip
        err_console.print(f"report: {index}")
    if as_json:
        doc = {
            "summary": summary,
            "files": [f.to_dict() for f in files],
            "unpaired": {"reference_only": pairing.only_ref, "decoded_only": pairing.only_decoded},
            **(extra or {}),
        }
        out_console.print_json(json.dumps(doc))
    else:
        table = Table(title=f"reconstruction: {decoded_dir} vs {ref_dir}")
        table.add_column("id")
        for m in metrics:
            table.add_column(LABELS[m], justify="right")
        if bitrate_bps is not None:
            table.add_column("kbps", justify="right")
        kbps = [f"{bitrate_bps / 1000:.3g}"] if bitrate_bps is not None else []
        for f in files:
            cells = [f"{f.scores[m]:.3f}" if m in f.scores else "[red]error[/red]" for m in metrics]
            table.add_row(f.id, *cells, *kbps)
        means = [
            f"{summary[m]['mean']:.3f}" if summary[m]["mean"] is not None else "-" for m in metrics
        ]
        table.add_row(f"[bold]mean ({len(files)} files)[/bold]", *means, *kbps, end_section=True)
        out_console.print(table)
    for f in failed:
        for name, why in f.errors.items():
            err_console.print(f"[red]error[/red]: {f.id}: {name}: {why}", soft_wrap=True)
    if failed:
        err_console.print(
            f"{len(failed)} file(s) had a metric fail; means leave them out "
            "of that metric (n per metric in --json)"
        )
    return 1 if failed else 0


@eval_app.command("recon")
def recon(
    ref_dir: Path = typer.Argument(..., help="Reference audio folder."),
    decoded_dir: Path = typer.Argument(..., help="Decoded audio folder (same relative ids)."),
    tokens: Path = typer.Option(
        None,
        "--tokens",
        help="Token store the decoded audio came from: its spec gives the bitrate.",
    ),
    bitrate: float = typer.Option(None, help="Bitrate to report, kbps (without --tokens)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plot: Path = typer.Option(
        None, "--plot", help="Write reference-vs-decoded mel spectrogram PNGs to this folder."
    ),
    metrics: str = typer.Option(
        None, help="Comma-separated subset of mel_distance, stft_distance, si_sdr, pesq_wb, stoi."
    ),
    html: Path = HtmlOpt,
) -> int:
    """Score decoded files against references paired by id: mel distance, multi-resolution
    STFT distance, SI-SDR, PESQ (wide band, 16 kHz), STOI, per file and mean."""
    bps = bitrate * 1000 if bitrate is not None else None
    recipe = None
    if html is not None:
        _require({"html": "matplotlib"}, ("html",))
    if tokens is not None:
        from audiotok import open_tokens

        ts = open_tokens(str(tokens))
        bps = ts.spec.bitrate
        recipe = ts.recipe.to_dict() if ts.recipe is not None else ts.spec.to_dict()
    return run_recon(
        ref_dir,
        decoded_dir,
        bitrate_bps=bps,
        as_json=as_json,
        plot_dir=plot,
        metrics=_metrics(metrics),
        html=html,
        recipe=recipe,
    )


@eval_app.command("roundtrip")
def roundtrip(
    corpus: Path = typer.Argument(..., help="Folder of reference audio."),
    model: str = typer.Option("encodec-24khz", help="Codec registry name or path."),
    weights: str = typer.Option(None, help="Local weights file for --model."),
    bandwidth: float = typer.Option(None, help="Codec bandwidth in kbps (EnCodec)."),
    n_codebooks: int = typer.Option(None, "--n-codebooks", help="Keep the first K codebooks."),
    output: Path = typer.Option(
        None,
        "-o",
        "--output",
        help="Keep tokens/ and decoded/ here (default: a temporary folder, removed after).",
    ),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plot: Path = typer.Option(None, "--plot", help="Spectrogram PNG folder."),
    metrics: str = typer.Option(None, help="Comma-separated subset of the metrics."),
    html: Path = HtmlOpt,
) -> int:
    """Encode a corpus with a codec, decode it, and score the result against the corpus."""
    import tempfile

    from audiotok import open_tokens
    from audiotok.codecs.store_decode import decode_rows, output_path
    from audiotok.errors import AudiotokError
    from audiotok.factory import tokenizer_for
    from audiotok.pipeline.api import encode_corpus, scan_inputs
    from audiotok.pipeline.local import Events, RunOptions

    chosen = _metrics(metrics)
    if html is not None:
        _require({"html": "matplotlib"}, ("html",))
    tok = tokenizer_for(
        None, model, weights=weights, bandwidth=bandwidth, n_codebooks=n_codebooks, device=device
    )
    if tok.spec.kind == "semantic":
        raise AudiotokError(f"{model} makes semantic units; roundtrip needs a codec")
    items, problems = scan_inputs([corpus])
    if not items:
        raise AudiotokError(f"no audio files found in {corpus}")
    err_console.print(f"{len(items)} files; {describe_spec(tok.spec)}")
    with tempfile.TemporaryDirectory(prefix="audiotok-roundtrip-") as tmp:
        work = output if output is not None else Path(tmp)
        store, decoded = work / "tokens", work / "decoded"
        summary = encode_corpus(
            items,
            tok,
            store,
            options=RunOptions(num_workers=0),
            events=Events(on_error=report_error),
            overwrite=True,
            problems=problems,
            run_params={"weights": tok.weights_path},
        )
        ts = open_tokens(str(store))
        decode_rows(ts.rows(), tok, lambda r: output_path(decoded, r["id"]))
        rc = run_recon(
            corpus,
            decoded,
            bitrate_bps=ts.spec.bitrate,
            as_json=as_json,
            plot_dir=plot,
            metrics=chosen,
            extra={"spec": ts.spec.to_dict(), "encode_errors": summary.errors},
            html=html,
            recipe=tok.recipe.to_dict() if tok.recipe is not None else None,
            title=f"round trip: {ts.spec.name} on {corpus}",
        )
    return max(rc, 1 if summary.errors else 0)


@eval_app.command("resynth")
def resynth(
    corpus: Path = typer.Argument(..., help="Folder (or manifest) of reference audio."),
    vocoder: str = typer.Option(..., "--vocoder", help="Unit vocoder: folder or registry name."),
    tokenizer: str = typer.Option(
        None,
        "--tokenizer",
        help="Semantic tokenizer (default: the one the vocoder was trained on, from its recipe).",
    ),
    output: Path = typer.Option(
        None, "-o", "--output", help="Keep tokens/ and decoded/ here (default: temporary)."
    ),
    speaker: str = typer.Option(None, help="Speaker of a multi-speaker vocoder."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    metrics: str = typer.Option(None, help="Comma-separated subset of the metrics."),
    html: Path = HtmlOpt,
) -> int:
    """Encode a corpus into units, vocode them, and score the result: the reconstruction
    metrics of `eval recon` plus the unit error rate (the resynthesis re-tokenized with the
    same tokenizer, edit distance to the original units; needs no ASR model)."""
    import tempfile

    from audiotok.errors import AudiotokError
    from audiotok.metrics.recon import summarize
    from audiotok.pipeline.api import scan_inputs
    from audiotok.recipe import recipe_from_dict
    from audiotok.tokenizer import resolve_device
    from audiotok.vocoders import load
    from audiotok.vocoders.resynth import resynthesize_corpus

    chosen = _metrics(metrics)
    if html is not None:
        _require({"html": "matplotlib"}, ("html",))
    dev = resolve_device(device)
    voc = load(vocoder, device=dev)
    if tokenizer is not None:
        from audiotok.factory import tokenizer_for

        tok = tokenizer_for("semantic", tokenizer, device=device)
    else:
        recipe = voc.config.tokenizer
        if not recipe:
            raise AudiotokError(f"{vocoder} does not record its tokenizer: pass --tokenizer")
        from audiotok.factory import build

        tok = build(recipe_from_dict(recipe), device=dev)
    voc.check_tokens(tok.spec, tok.recipe.to_dict() if tok.recipe is not None else None)
    items, problems = scan_inputs([corpus])
    if not items:
        raise AudiotokError(f"no audio files found in {corpus}")
    err_console.print(f"{len(items)} files; {describe_spec(tok.spec)}; vocoder {vocoder}")
    with tempfile.TemporaryDirectory(prefix="audiotok-resynth-") as tmp:
        work = output if output is not None else Path(tmp)
        spk = int(speaker) if speaker is not None and speaker.isdigit() else speaker
        files, summary = resynthesize_corpus(
            items, tok, voc, work, metrics=chosen, problems=problems, on_error=report_error,
            speaker=spk,
        )  # fmt: skip
        names = ("uer", *chosen)
        result = summarize(files, names)
        result["bitrate_kbps"] = tok.spec.bitrate / 1000
        if html is not None:  # while the decoded audio still exists
            from audiotok import open_tokens

            usage = np.zeros(tok.spec.codebook_size, dtype=np.int64)
            for _, codes in open_tokens(str(work / "tokens")):
                usage += np.bincount(codes[0], minlength=tok.spec.codebook_size)
            index = html_report(
                html, f"resynthesis: {vocoder} on {corpus}", files, names, result,
                recipe=tok.recipe.to_dict() if tok.recipe is not None else None,
                bitrate_bps=tok.spec.bitrate, unit_usage={tok.spec.name: usage.tolist()},
                notes=("UER: unit error rate of the resynthesis re-tokenized with the same "
                       "tokenizer (deduplicated units; lower is better).",),
            )  # fmt: skip
            err_console.print(f"report: {index}")
    if as_json:
        doc = {
            "summary": result,
            "files": [f.to_dict() for f in files],
            "spec": tok.spec.to_dict(),
            "encode_errors": summary.errors,
        }
        out_console.print_json(json.dumps(doc))
    else:
        _print_table(f"resynthesis: {vocoder} on {corpus}", files, names, result)
    failed = [f for f in files if f.errors]
    for f in failed:
        for name, why in f.errors.items():
            err_console.print(f"[red]error[/red]: {f.id}: {name}: {why}", soft_wrap=True)
    return 1 if failed or summary.errors else 0


def _print_table(title: str, files: list[Any], names: tuple[str, ...], summary: dict) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("id")
    for m in names:
        table.add_column(LABELS.get(m, m), justify="right")
    for f in files:
        table.add_row(
            f.id, *[f"{f.scores[m]:.3f}" if m in f.scores else "[red]error[/red]" for m in names]
        )
    means = [f"{summary[m]['mean']:.3f}" if summary[m]["mean"] is not None else "-" for m in names]
    table.add_row(f"[bold]mean ({len(files)} files)[/bold]", *means, end_section=True)
    out_console.print(table)


@eval_app.command("codebooks")
def codebooks(
    tokens: Path = typer.Argument(..., help="Token store (any K: EnCodec, DAC, hybrid, units)."),
    align: Path = typer.Option(
        ..., "--align", help="Folder of <utterance id>.tsv phone alignments (start, end, phone)."
    ),
    max_prefix: int = typer.Option(
        None, min=1, help="Probe prefixes up to this many codebooks (default: all)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plot: Path = typer.Option(None, "--plot", help="Write the PNMI plot (PNG) here."),
    html: Path = HtmlOpt,
) -> int:
    """Which codebooks carry phonetic content: PNMI, phone purity and unit entropy of each
    codebook alone and of each prefix of codebooks taken jointly."""
    from audiotok.errors import AudiotokError
    from audiotok.metrics.codebooks import format_table, plot_codebooks, probe_store

    if not align.is_dir():
        raise AudiotokError(f"--align {align} is not a folder of <utterance id>.tsv files")
    if plot is not None or html is not None:
        _require({"plot": "matplotlib"}, ("plot",))
    result = probe_store(tokens, align, max_prefix=max_prefix)
    if plot is not None:
        plot_codebooks(result, plot, title=f"{result['name']}: PNMI per codebook")
    if html is not None:
        err_console.print(f"report: {_codebooks_report(html, tokens, result)}")
    if as_json:
        out_console.print_json(json.dumps(result))
    else:
        out_console.print(format_table(result), highlight=False, soft_wrap=True)
        if plot is not None:
            out_console.print(f"plot: {plot}")
    return 0


def _codebooks_report(out: Path, tokens: Path, result: dict[str, Any]) -> Path:
    from audiotok import open_tokens
    from audiotok.report import write_report

    ts = open_tokens(str(tokens))
    k, size = ts.spec.num_codebooks, ts.spec.codebook_size
    usage = np.zeros((k, size), dtype=np.int64)
    for _, codes in ts:
        for c in range(k):
            usage[c] += np.bincount(codes[c], minlength=size)
    sem = set(ts.spec.semantic_codebooks)
    rows = [
        {"codebook": a["codebook"], "semantic": a["codebook"] in sem,
         **{m: a[m] for m in ("pnmi", "phone_purity", "entropy_bits", "used")}}
        for a in result["codebooks"]
    ]  # fmt: skip
    return write_report(
        out,
        title=f"codebooks of {ts.spec.name}: phonetic content",
        recipe=ts.recipe.to_dict() if ts.recipe is not None else ts.spec.to_dict(),
        bitrate_bps=ts.spec.bitrate,
        summary={
            "aligned utterances": result["aligned_utterances"],
            "aligned frames": result["aligned_frames"],
            "phones": len(result["phone_set"]),
        },
        unit_usage={f"codebook {c}": usage[c].tolist() for c in range(k)},
        pnmi={
            "per_codebook": [a["pnmi"] for a in result["codebooks"]],
            "per_prefix": [p["pnmi"] for p in result["prefixes"]],
            "labels": [f"codebook {a['codebook']}" for a in result["codebooks"]],
        },
        extra_tables={"per codebook": rows},
    )


eval_app.command("abx")(abx_command)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
