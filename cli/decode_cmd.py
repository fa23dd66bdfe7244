"""audiotok decode: a token store -> one wav per utterance."""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import err_console, out_console


def decode(
    store: Path = typer.Argument(..., help="Token store written by `audiotok encode`."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder (or .wav file with --id)."),
    utt_id: str = typer.Option(None, "--id", help="Decode only this utterance."),
    model: str = typer.Option(None, help="Model name or path (default: the store's)."),
    weights: str = typer.Option(None, help="Local weights file for the model."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
) -> int:
    """Turn tokens back into audio with the codec that made them."""
    import torch

    from audiotok import audio, open_tokens
    from audiotok.errors import AudiotokError
    from audiotok.factory import load_tokenizer
    from audiotok.tokenizer import resolve_device

    ts = open_tokens(str(store))
    spec = ts.spec
    recorded = ts.manifest.run.get("weights") or None
    if weights is None and model is None and recorded and Path(recorded).is_file():
        weights = recorded  # the file the tokens were made with; its sha256 is checked below
    options = {"device": resolve_device(device), "weights": weights}
    if spec.kind in ("acoustic", "hybrid"):
        options["n_codebooks"] = spec.num_codebooks
    tok = load_tokenizer(model or spec.name, **options)
    if spec.kind == "semantic":
        raise AudiotokError(
            f"{store} holds semantic units of {spec.name}; they need a unit vocoder, which "
            "the codec decode path cannot provide"
        )
    if tok.spec.weights_sha256 != spec.weights_sha256:
        raise AudiotokError(
            f"{store} was made with weights sha256 {spec.weights_sha256[:12]}..., the loaded "
            f"model has {tok.spec.weights_sha256[:12]}...; pass the same weights (--weights)"
        )
    rows = [ts.get(utt_id)] if utt_id else ts.rows()
    single = utt_id is not None and output.suffix.lower() == ".wav"
    n = 0
    for row in rows:
        codes = torch.as_tensor(row["codes"]).reshape(spec.num_codebooks, -1)
        wav = tok.decode(codes).numpy()
        wav = wav[: round(row["duration_s"] * tok.sample_rate)]
        dest = output if single else output / f"{row['id']}.wav"
        audio.write(str(dest), wav, tok.sample_rate)
        n += 1
    out_console.print(f"wrote {n} wav file(s) at {tok.sample_rate} Hz to {output}")
    if n == 0:
        err_console.print("the store holds no utterances")
    return 0


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
