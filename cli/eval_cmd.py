"""audiotok eval: how well decoded audio matches its reference (library: audiotok.eval).

``recon REF DECODED`` scores folders paired by id; ``roundtrip CORPUS --model M`` encodes,
decodes and scores; ``resynth CORPUS --vocoder V`` does so through a unit vocoder, with the
unit error rate; ``codebooks`` probes phonetic content; ``abx`` (``cli/eval_abx.py``). Exit
codes: 0 all scored, 1 some file or metric failed (listed; never counted), 2 bad usage.
"""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli import eval_common as C
from audiotok.cli.common import describe_spec, err_console
from audiotok.cli.common import report_error as on_error
from audiotok.cli.eval_abx import abx as abx_command

eval_app = typer.Typer(
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
    help="Score decoded audio against references (codec evaluation).",
    no_args_is_help=True,
)


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
    as_json: bool = C.JsonOpt,
    plot: Path = typer.Option(None, "--plot", help="Write mel spectrogram PNGs to this folder."),
    metrics: str = C.MetricsOpt,
    html: Path = C.HtmlOpt,
) -> int:
    """Score decoded files against references paired by id: mel distance, multi-resolution
    STFT distance, SI-SDR, PESQ (wide band, 16 kHz), STOI, per file and mean."""
    from audiotok import eval as E

    bps, recipe = (bitrate * 1000 if bitrate is not None else None), None
    if tokens is not None:
        from audiotok import open_tokens

        ts = open_tokens(str(tokens))
        bps = ts.spec.bitrate
        recipe = ts.recipe.to_dict() if ts.recipe is not None else ts.spec.to_dict()
    with C.work_dir(None, html):
        result = E.recon(ref_dir, decoded_dir, metrics=metrics, bitrate_bps=bps, recipe=recipe)
        return C.finish(result, as_json, html, plot)


@eval_app.command("roundtrip")
def roundtrip(
    corpus: Path = typer.Argument(..., help="Folder of reference audio."),
    model: str = typer.Option("encodec-24khz", help="Codec registry name or path."),
    weights: str = typer.Option(None, help="Local weights file for --model."),
    bandwidth: float = typer.Option(None, help="Codec bandwidth in kbps (EnCodec)."),
    n_codebooks: int = typer.Option(None, "--n-codebooks", help="Keep the first K codebooks."),
    output: Path = C.WorkOpt,
    device: str = C.DeviceOpt,
    num_workers: int = C.WorkersOpt,
    as_json: bool = C.JsonOpt,
    plot: Path = typer.Option(None, "--plot", help="Spectrogram PNG folder."),
    metrics: str = C.MetricsOpt,
    html: Path = C.HtmlOpt,
) -> int:
    """Encode a corpus with a codec, decode it, and score the result against the corpus."""
    from audiotok import eval as E
    from audiotok.factory import tokenizer_for

    E.check_metrics(metrics)
    tok = tokenizer_for(
        None, model, weights=weights, bandwidth=bandwidth, n_codebooks=n_codebooks, device=device
    )
    err_console.print(describe_spec(tok.spec))
    opts = C.run_options(num_workers)
    with C.work_dir(output, html) as work:
        result = E.roundtrip(corpus, tok, work, metrics=metrics, options=opts, on_error=on_error)
        return C.finish(result, as_json, html, plot)


@eval_app.command("resynth")
def resynth(
    corpus: Path = typer.Argument(..., help="Folder (or manifest) of reference audio."),
    vocoder: str = typer.Option(..., "--vocoder", help="Unit vocoder: folder or registry name."),
    tokenizer: str = typer.Option(
        None,
        "--tokenizer",
        help="Semantic tokenizer (default: the one the vocoder was trained on, from its recipe).",
    ),
    output: Path = C.WorkOpt,
    speaker: str = typer.Option(None, help="Speaker of a multi-speaker vocoder."),
    device: str = C.DeviceOpt,
    num_workers: int = C.WorkersOpt,
    as_json: bool = C.JsonOpt,
    metrics: str = C.MetricsOpt,
    html: Path = C.HtmlOpt,
) -> int:
    """Encode a corpus into units, vocode them, and score the result: the reconstruction
    metrics of `eval recon` plus the unit error rate (the resynthesis re-tokenized with the
    same tokenizer, edit distance to the original units; needs no ASR model)."""
    from audiotok import eval as E
    from audiotok.eval.unit_resynth import vocoder_and_tokenizer

    E.check_metrics(metrics)
    voc, tok = vocoder_and_tokenizer(vocoder, tokenizer, device)
    err_console.print(f"{describe_spec(tok.spec)}; vocoder {vocoder}")
    spk = int(speaker) if speaker is not None and speaker.isdigit() else speaker
    opts, title = C.run_options(num_workers), f"resynthesis: {vocoder} on {corpus}"
    with C.work_dir(output, html) as work:
        result = E.resynth(corpus, tok, voc, work, metrics=metrics, speaker=spk, options=opts,
                           on_error=on_error, title=title)  # fmt: skip
        return C.finish(result, as_json, html)


@eval_app.command("codebooks")
def codebooks(
    tokens: Path = typer.Argument(..., help="Token store (any K: EnCodec, DAC, hybrid, units)."),
    align: Path = typer.Option(
        ..., "--align", help="Folder of <utterance id>.tsv phone alignments (start, end, phone)."
    ),
    max_prefix: int = typer.Option(
        None, min=1, help="Probe prefixes up to this many codebooks (default: all)."
    ),
    as_json: bool = C.JsonOpt,
    plot: Path = typer.Option(None, "--plot", help="Write the PNMI plot (PNG) here."),
    html: Path = C.HtmlOpt,
) -> int:
    """Which codebooks carry phonetic content: PNMI, phone purity and unit entropy of each
    codebook alone and of each prefix of codebooks taken jointly."""
    from audiotok import eval as E

    with C.work_dir(None, html if html is not None else plot):
        result = E.codebooks(tokens, align, max_prefix=max_prefix)
    return C.print_codebooks(result, as_json, plot, html)


eval_app.command("abx")(abx_command)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
