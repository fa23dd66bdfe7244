"""audiotok decode: a token store -> one wav per utterance."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import err_console, out_console


def decode(
    store: Path = typer.Argument(..., help="Token store written by `audiotok encode`."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder (or .wav file with --id)."),
    utt_id: str = typer.Option(None, "--id", help="Decode only this utterance."),
    model: str = typer.Option(None, help="Model name or path (default: the store's)."),
    weights: str = typer.Option(None, help="Local weights file for the model."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    batch_frames: int = typer.Option(
        6000,
        help="Padded frames per decode batch (utterances longer than the codec's "
        "window are decoded alone, in windows).",
    ),
) -> int:
    """Turn tokens back into audio with the codec that made them (batched; long utterances
    are decoded in windows, in bounded memory)."""
    from audiotok import open_tokens
    from audiotok.codecs.store_decode import codec_for_store, decode_rows, output_path
    from audiotok.errors import AudiotokError

    ts = open_tokens(str(store))
    tok = codec_for_store(ts, model=model, weights=weights, device=device)
    rows: Iterable[dict[str, Any]]
    if utt_id:
        if utt_id not in ts:
            raise AudiotokError(f"{store} holds no utterance {utt_id!r}")
        rows = [ts.row(utt_id)]
    else:
        rows = ts.rows()
    single = utt_id is not None and output.suffix.lower() == ".wav"
    n = decode_rows(
        rows,
        tok,
        lambda r: output if single else output_path(output, r["id"]),
        batch_frames=batch_frames,
    )
    out_console.print(f"wrote {n} wav file(s) at {tok.sample_rate} Hz to {output}")
    if n == 0:
        err_console.print("the store holds no utterances")
    return 0


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
