"""audiotok decode: a token store -> one wav per utterance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from audiotok.cli.common import err_console, out_console
from audiotok.cli.corpus_run import ThreadsOpt


def decode(
    store: Path = typer.Argument(
        ...,
        help="Token store written by `audiotok encode`, or a unit file (fairseq: one line of "
        "units per utterance; or id|units, id<TAB>units) with --vocoder.",
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Folder (or .wav file with --id)."),
    utt_id: str = typer.Option(None, "--id", help="Decode only this utterance."),
    model: str = typer.Option(None, help="Model name or path (default: the store's)."),
    weights: str = typer.Option(None, help="Local weights file for the model."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    batch_frames: int = typer.Option(
        6000,
        min=1,
        help="Padded frames per decode batch (utterances longer than the codec's "
        "window are decoded alone, in windows).",
    ),
    vocoder: str = typer.Option(
        None,
        help="Unit vocoder (folder or registry name) for semantic units: `audiotok vocoder "
        "train` makes one.",
    ),
    decoder: str = typer.Option(
        None,
        help="Another decoder of the store's codec tokens: vocos (EnCodec 24 kHz stores, "
        "vocos-encodec-24khz) or a Vocos folder.",
    ),
    speaker: str = typer.Option(None, help="Speaker of a multi-speaker vocoder."),
    dedup: bool = typer.Option(
        False, help="Units are deduplicated (as unit LMs emit them): predict durations."
    ),
    threads: int = ThreadsOpt,
) -> int:
    """Turn tokens back into audio (codecs: the store's own codec; units: --vocoder).

    Batched; long utterances are decoded in windows, in bounded memory."""
    from audiotok import open_tokens
    from audiotok.cli.common import set_threads
    from audiotok.decoding import codec_for_store, decode_store, vocos_for_store
    from audiotok.errors import AudiotokError

    set_threads(threads, 0)
    if decoder is not None and (vocoder is not None or store.is_file()):
        raise AudiotokError("--decoder decodes a codec's token store; units take --vocoder")
    if store.is_file() or vocoder is not None:
        return _vocode(store, output, utt_id, vocoder, device, batch_frames, speaker, dedup)
    if speaker is not None or dedup:
        raise AudiotokError("--speaker and --dedup apply to unit vocoders (--vocoder)")
    ts = open_tokens(str(store))
    if decoder is not None:
        if model is not None:
            raise AudiotokError("--decoder and --model exclude each other")
        tok = vocos_for_store(ts, decoder, weights, device)
    else:
        tok = codec_for_store(ts, model=model, weights=weights, device=device)
    ids = [utt_id] if utt_id else None
    n = decode_store(ts, tok, output, ids=ids, batch_frames=batch_frames)
    out_console.print(f"wrote {n} wav file(s) at {tok.sample_rate} Hz to {output}")
    if n == 0:
        err_console.print("the store holds no utterances")
    return 0


def _vocode(
    src: Path,
    output: Path,
    utt_id: str | None,
    name: str | None,
    device: str,
    batch_frames: int,
    speaker: str | None,
    dedup: bool,
) -> int:
    """Semantic units (a store or a unit file) -> wavs through a unit vocoder."""
    from audiotok import open_tokens
    from audiotok.decoding import VocoderDecoder, decode_items, decode_store, output_path
    from audiotok.errors import AudiotokError
    from audiotok.tokenizer import resolve_device
    from audiotok.vocoders import load, read_unit_file

    if name is None:
        raise AudiotokError(f"{src} holds units: pass --vocoder DIR_OR_NAME to decode them")
    voc = load(name, device=resolve_device(device))
    spk: Any = int(speaker) if speaker is not None and speaker.isdigit() else speaker
    dec = VocoderDecoder(voc, speaker=spk, dedup=dedup)
    if src.is_file():
        if utt_id is not None:
            raise AudiotokError("--id selects an utterance of a store, not of a unit file")
        items = ((u, x, None) for u, x in read_unit_file(src))
        n = decode_items(items, dec, lambda u: output_path(output, u), batch_frames=batch_frames)
    else:
        ts = open_tokens(str(src))
        ids = [utt_id] if utt_id is not None else None
        n = decode_store(ts, dec, output, ids=ids, batch_frames=batch_frames)
    out_console.print(f"wrote {n} wav file(s) at {voc.sample_rate} Hz to {output}")
    return 0


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
