"""audiotok export: token stores -> training files of fairseq, Megatron-LM, nanoGPT, Hugging
Face datasets or WebDataset, with the vocabulary spec (vocab.json) beside them."""

from __future__ import annotations

from pathlib import Path

import typer

from audiotok.cli.common import out_console

FORMATS = "fairseq|megatron|nanogpt|hf|webdataset"


def export(
    stores: list[Path] = typer.Argument(
        ..., help="Token store(s); several stores of one corpus are joined by id, in time."
    ),
    to: str = typer.Option(..., "--to", help=f"Format: {FORMATS}."),
    output: Path = typer.Option(..., "-o", "--output", help="Output directory (new or empty)."),
    pattern: str = typer.Option(
        "flatten",
        help="Codebook layout: flatten, parallel, delay, multistream, coarse_first, valle, "
        "coarse_to_fine (multi-rate stores: SNAC), orpheus (SNAC 24 kHz with Orpheus TTS's "
        "id per position); fairseq, megatron and nanogpt take the flat ones (flatten, "
        "coarse_to_fine, orpheus).",
    ),
    dedup: bool = typer.Option(False, help="Merge repeated units (semantic streams only)."),
    vocab_spec: Path | None = typer.Option(
        None, "--vocab-spec", help="Vocabulary spec JSON (default: built from the stores)."
    ),
    layout: str = typer.Option("shared", help="Vocabulary layout: shared or separate tables."),
    vocab_offset: int = typer.Option(
        0,
        min=0,
        help="First id of the speech codes (shared layout), the ids below left to a text "
        "LLM's vocabulary (Orpheus TTS: 128266). Not with --vocab-spec (its file holds its ids).",
    ),
    bos: bool = typer.Option(False, help="Start every document with the bos token."),
    eos: bool | None = typer.Option(
        None, "--eos/--no-eos", help="End documents with eos (default: per format)."
    ),
    markers: bool = typer.Option(False, help="Wrap each document in <store> ... </store>."),
    val_fraction: float = typer.Option(0.0, help="Fraction of utterances for validation."),
    val_ids: Path | None = typer.Option(None, help="File of validation ids, one per line."),
    seed: int = typer.Option(0, help="Seed of the validation split."),
    shard_size: int = typer.Option(10_000, help="Samples per WebDataset tar shard."),
    skip_missing: bool = typer.Option(
        False, help="Joined stores: feed the ids all stores share instead of failing."
    ),
    overwrite: bool = typer.Option(False, help="Replace an earlier export in the output."),
) -> int:
    """Write LM training files from token stores (offsets, pattern and splits applied here).

    fairseq: fairseq-preprocess --only-source --srcdict dict.txt (without
    --srcdict, fairseq sorts its dictionary by count and permutes the unit ids).
    megatron: --data-path <out>/train_text_document.
    nanogpt: train.bin / val.bin (uint16), meta.pkl + meta.json.
    hf: datasets.load_from_disk(<out>). webdataset: <split>-NNNNNN.tar shards.
    """
    from audiotok.cli.common import err_console
    from audiotok.feed.exporters import export as run
    from audiotok.store.lock import writer_holding

    for store in stores:
        holder = writer_holding(store)
        if holder:
            err_console.print(
                f"[yellow]warning[/yellow]: {store} is being written ({holder}): exporting what it "
                "has committed so far; export again when that run ends for the rest",
                soft_wrap=True,
            )
    summary = run(
        [str(s) for s in stores],
        output,
        to,
        pattern=pattern,
        vocab=vocab_spec,
        layout=layout,
        offset=vocab_offset,
        dedup=dedup,
        bos=bos,
        eos=eos,
        markers=markers,
        val_fraction=val_fraction,
        val_ids=val_ids,
        seed=seed,
        shard_size=shard_size,
        on_missing="skip" if skip_missing else "error",
        overwrite=overwrite,
    )
    for split, s in summary.splits.items():
        out_console.print(f"{split:6s} {s['documents']} documents, {s['tokens']} tokens")
    out_console.print(
        f"wrote {summary.format} files to {summary.out} (vocabulary {summary.vocab_size} ids, "
        f"{summary.dtype}; vocab.json, export.json)"
    )
    return 0


def register(app: typer.Typer) -> None:
    app.command("export")(export)
