"""Exporters: token stores -> the files LM training frameworks read (fairseq, Megatron-LM,
nanoGPT, Hugging Face datasets, WebDataset), with ``vocab.json`` and ``export.json`` beside.

``export(stores, out, to=...)`` reads the stores once, in store order, routes every utterance
to its split and writes it through the format's writer. Everything is written into a hidden
temporary folder next to ``out`` and renamed into place at the end, so a failed export
leaves nothing half-written. No torch import.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.feed.align import JoinedSource
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.exporters.base import TRAIN, VALID, Format
from audiotok.feed.exporters.fairseq import FAIRSEQ
from audiotok.feed.exporters.hf import HF
from audiotok.feed.exporters.megatron import MEGATRON
from audiotok.feed.exporters.nanogpt import NANOGPT
from audiotok.feed.exporters.webdataset import DEFAULT_SHARD_SIZE, webdataset_format
from audiotok.feed.source import BlockReader, as_source
from audiotok.feed.split import read_ids, split_ids
from audiotok.feed.vocab import VocabSpec

FORMATS = ("fairseq", "megatron", "nanogpt", "hf", "webdataset")
EXPORT_FORMAT = "audiotok-export"


def get_format(name: str, shard_size: int = DEFAULT_SHARD_SIZE) -> Format:
    table = {"fairseq": FAIRSEQ, "megatron": MEGATRON, "nanogpt": NANOGPT, "hf": HF}
    if name == "webdataset":
        if shard_size < 1:
            raise AudiotokError("shard size must be at least 1 sample")
        return webdataset_format(shard_size)
    try:
        return table[name]
    except KeyError:
        raise AudiotokError(f"unknown export format {name!r}: use {', '.join(FORMATS)}") from None


@dataclass
class ExportSummary:
    out: Path
    format: str
    splits: dict[str, dict[str, Any]]
    files: list[str] = field(default_factory=list)
    vocab_size: int = 0
    dtype: str = ""


def export(
    stores: Any,
    out: str | Path,
    to: str,
    *,
    pattern: str = "flatten",
    vocab: VocabSpec | str | Path | None = None,
    layout: str = "shared",
    offset: int = 0,
    dedup: bool = False,
    bos: bool = False,
    eos: bool | None = None,
    markers: bool = False,
    val_fraction: float = 0.0,
    val_ids: Sequence[str] | str | Path | None = None,
    seed: int = 0,
    shard_size: int = DEFAULT_SHARD_SIZE,
    on_missing: str = "error",
    overwrite: bool = False,
) -> ExportSummary:
    """Export one store (or several stores of one corpus, joined by id and aligned in time).

    ``eos=None``: the format's default (fairseq appends its own </s>; the others get ours).
    ``vocab``: a VocabSpec or its JSON file; built from the stores' specs otherwise, its
    first stream at id ``offset``.
    ``val_ids``: ids or a file of ids (one per line) for the validation split; or
    ``val_fraction`` with ``seed``.
    """
    fmt = get_format(to, shard_size)
    items = list(stores) if isinstance(stores, (list, tuple)) else [stores]
    sources = [as_source(s) for s in items]
    source = sources[0] if len(sources) == 1 else JoinedSource(sources, on_missing=on_missing)
    if vocab is not None and offset:
        raise AudiotokError(
            "a vocabulary offset applies to the vocabulary built from the stores; the given "
            "vocabulary spec holds its own ids"
        )
    if isinstance(vocab, (str, Path)):
        vocab = VocabSpec.load(vocab)
    encoder = FeedEncoder.for_source(
        source,
        pattern,
        vocab=vocab,
        layout=layout,
        offset=offset,
        dedup=dedup,
        bos=bos,
        eos=fmt.eos if eos is None else eos,
        markers=markers,
    )
    if fmt.flat and not encoder.flat:
        raise AudiotokError(
            f"{to} files hold one token sequence per document; pattern {pattern} gives "
            f"{encoder.pattern.output} output: use --pattern flatten, or export to hf/webdataset"
        )
    if fmt.check is not None:
        fmt.check(encoder)
    if isinstance(val_ids, (str, Path)):
        val_ids = read_ids(val_ids)
    train, valid = split_ids(source.ids(), val_fraction=val_fraction, seed=seed, val_ids=val_ids)
    from audiotok.safe_paths import output_folder

    target = output_folder(out)
    _check_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        stats = _write(source, encoder, fmt, tmp, {TRAIN: train, VALID: valid})
        files = fmt.finish(tmp, encoder, stats) if fmt.finish else []
        encoder.vocab.save(tmp / "vocab.json")
        record = {
            "format": EXPORT_FORMAT,
            "to": to,
            "stores": [str(getattr(s, "dir", "")) or repr(s) for s in sources],
            "specs": [s.spec.to_dict() for s in sources],
            "pattern": encoder.pattern.name,
            "dedup": dedup,
            "bos": bos,
            "eos": encoder.eos,
            "markers": markers,
            "val_fraction": val_fraction,
            "seed": seed,
            "val_ids": None if val_ids is None else len(val_ids),
            "splits": stats,
            "vocab": "vocab.json",
            "vocab_size": encoder.vocab.vocab_size,
            "dtype": encoder.vocab.dtype,
        }
        (tmp / "export.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
        if target.exists():
            shutil.rmtree(target) if overwrite else target.rmdir()
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportSummary(target, to, stats, files, encoder.vocab.vocab_size, encoder.vocab.dtype)


def _check_target(target: Path, overwrite: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise AudiotokError(f"output {target} exists and is not a directory")
    if not any(target.iterdir()):
        return
    if overwrite and (target / "export.json").is_file():
        return
    raise AudiotokError(
        f"output {target} is not empty; choose a new directory"
        + (" (--overwrite replaces only an earlier export)" if not overwrite else "")
    )


def _write(
    source: Any, encoder: FeedEncoder, fmt: Format, out: Path, splits: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    route = {i: name for name, ids in splits.items() for i in ids}
    writers = {name: fmt.open(out, name, encoder) for name, ids in splits.items() if ids}
    try:
        reader = BlockReader(source)
        for b in range(len(reader)):
            block = reader.read(b)
            for i, utt_id in enumerate(block.ids):
                name = route.get(utt_id)
                if name is not None:
                    writers[name].add(utt_id, encoder.encode(block.codes(i)))
    finally:
        stats = {name: w.close() for name, w in writers.items()}
    return stats


__all__ = ["FORMATS", "ExportSummary", "export", "get_format"]
