"""audiotok stream encode | decode: codes as audio arrives on stdin, audio as codes arrive.

For the causal codecs (`audiotok models list` shows which stream). In a shell pipe:

    sox in.wav -r 24000 -c 1 -b 16 -t wav - | audiotok stream encode --model mimi > codes.txt
    audiotok stream decode --model mimi < codes.txt \
        | sox -t raw -r 24000 -e signed -b 16 -c 1 - out.wav
"""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import err_console

stream_app = typer.Typer(
    help="Tokenize audio as it arrives (stdin) and decode codes as they arrive (causal codecs).",
    no_args_is_help=True,
)

ModelOpt = typer.Option("mimi", "--model", help="A streaming codec: mimi or encodec-24khz.")
WeightsOpt = typer.Option(None, "--weights", help="Local weights for --model (offline use).")
CodebooksOpt = typer.Option(None, "--n-codebooks", min=1, help="Keep the first K codebooks.")
FormatOpt = typer.Option(
    "text", "--format", help="Codes: text (a line of K codes per frame) or binary (K uint16)."
)


def _load(model: str, weights: str | None, n_codebooks: int | None, device: str):
    from audiotok.factory import tokenizer_for

    return tokenizer_for(None, model, weights=weights, n_codebooks=n_codebooks, device=device)


def _open_in(path: Path):
    import sys

    return sys.stdin.buffer if str(path) == "-" else open(path, "rb")  # noqa: SIM115


@stream_app.command("encode")
def encode(
    source: Path = typer.Argument(Path("-"), help="WAV or raw PCM; - reads stdin."),
    model: str = ModelOpt,
    weights: str = WeightsOpt,
    n_codebooks: int = CodebooksOpt,
    fmt: str = FormatOpt,
    rate: int = typer.Option(
        None, "--rate", help="Raw PCM: sample rate (resampled to the model's)."
    ),
    channels: int = typer.Option(1, "--channels", min=1, help="Raw PCM: interleaved channels."),
    encoding: str = typer.Option("s16le", "--encoding", help="Raw PCM: s16le or f32le."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N."),
) -> int:
    """Codes on stdout, written as each frame completes."""
    import sys

    from audiotok.streaming.pipe import RawFormat, encode_pipe

    tok = _load(model, weights, n_codebooks, device)
    raw = RawFormat(rate, channels, encoding) if rate is not None else None
    src = _open_in(source)
    try:
        frames = encode_pipe(tok, src, sys.stdout.buffer, raw, fmt)
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    err_console.print(f"{frames} frames of {tok.num_codebooks} codes ({tok.spec.name})")
    return 0


@stream_app.command("decode")
def decode(
    source: Path = typer.Argument(
        Path("-"), help="Codes (as `stream encode` writes); - reads stdin."
    ),
    model: str = ModelOpt,
    weights: str = WeightsOpt,
    n_codebooks: int = CodebooksOpt,
    fmt: str = FormatOpt,
    output_format: str = typer.Option(
        "s16le", "--output-format", help="Audio on stdout: s16le, f32le (raw PCM) or wav."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N."),
) -> int:
    """Audio at the model's rate (mono) on stdout, written as each frame arrives."""
    import sys

    from audiotok.streaming.pipe import decode_pipe

    tok = _load(model, weights, n_codebooks, device)
    src = _open_in(source)
    try:
        n = decode_pipe(tok, src, sys.stdout.buffer, fmt, output_format)
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    err_console.print(f"{n} samples at {tok.sample_rate} Hz ({tok.spec.name})")
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(stream_app, name="stream")
