"""audiotok decode: a token store -> one wav per utterance."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import err_console, out_console


def codec_for_store(ts: Any, model: str | None, weights: str | None, device: str) -> Any:
    """The codec that made a store's tokens, with the same weights (checked by sha256)."""
    from audiotok.errors import AudiotokError
    from audiotok.factory import load_tokenizer
    from audiotok.tokenizer import resolve_device

    spec = ts.spec
    if spec.kind == "semantic":
        raise AudiotokError(
            f"{ts.dir} holds semantic units of {spec.name}; they need a unit vocoder, which "
            "the codec decode path cannot provide"
        )
    recorded = ts.manifest.run.get("weights") or None
    if weights is None and model is None and recorded and Path(recorded).is_file():
        weights = recorded  # the file the tokens were made with; its sha256 is checked below
    options: dict[str, Any] = {"device": resolve_device(device), "weights": weights}
    # codecs with side rows (EnCodec 48 kHz's loudness row) record the RVQ depth separately
    options["n_codebooks"] = spec.params.get("n_codebooks", spec.num_codebooks)
    if "scale_row" in spec.params:
        options["n_codebooks"] = spec.num_codebooks - 1
    tok = load_tokenizer(model or spec.name, **options)
    if tok.spec.weights_sha256 != spec.weights_sha256:
        raise AudiotokError(
            f"{ts.dir} was made with weights sha256 {spec.weights_sha256[:12]}..., the loaded "
            f"model has {tok.spec.weights_sha256[:12]}...; pass the same weights (--weights)"
        )
    return tok


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
    from audiotok.codecs.store_decode import decode_rows

    ts = open_tokens(str(store))
    tok = codec_for_store(ts, model, weights, device)
    rows: Iterable[dict[str, Any]]
    if utt_id:
        try:
            rows = [ts.get(utt_id)]
        except KeyError:
            from audiotok.errors import AudiotokError

            raise AudiotokError(f"{store} holds no utterance {utt_id!r}") from None
    else:
        rows = ts.rows()
    single = utt_id is not None and output.suffix.lower() == ".wav"
    n = decode_rows(
        rows,
        tok,
        lambda r: output if single else output / f"{r['id']}.wav",
        batch_frames=batch_frames,
    )
    out_console.print(f"wrote {n} wav file(s) at {tok.sample_rate} Hz to {output}")
    if n == 0:
        err_console.print("the store holds no utterances")
    return 0


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
