"""Hugging Face datasets: a ``DatasetDict`` (``train``, ``validation``) in ``save_to_disk``
layout, read back with ``datasets.load_from_disk(out)``.

Columns: ``id``; the tokens as ``input_ids`` (``[S]``, or ``[R][S]`` for row patterns) or
``ar`` / ``nar`` for the VALL-E split, in the vocabulary's dtype; ``num_frames`` (T' before
dedup); ``durations`` with dedup. Rows are streamed to an Arrow file per split (no corpus
in memory), then ``save_to_disk`` writes the dataset.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from audiotok.errors import AudiotokError
from audiotok.feed.encoder import Encoded, FeedEncoder
from audiotok.feed.exporters.base import TRAIN, VALID, Format, token_count
from audiotok.feed.patterns import ROWS, SPLIT

SPLIT_NAMES = {TRAIN: "train", VALID: "validation"}
ROWS_PER_BATCH = 1024


def schema(encoder: FeedEncoder) -> pa.Schema:
    item = pa.uint16() if encoder.vocab.dtype == "uint16" else pa.int32()
    out = encoder.pattern.output
    fields = [pa.field("id", pa.string())]
    if out == SPLIT:
        fields += [pa.field("ar", pa.list_(item)), pa.field("nar", pa.list_(pa.list_(item)))]
    elif out == ROWS:
        fields.append(pa.field("input_ids", pa.list_(pa.list_(item))))
    else:
        fields.append(pa.field("input_ids", pa.list_(item)))
    fields.append(pa.field("num_frames", pa.int32()))
    if encoder.dedup:
        fields.append(pa.field("durations", pa.list_(pa.int32())))
    return pa.schema(fields)


class HFWriter:
    def __init__(self, out: Path, split: str, encoder: FeedEncoder):
        self.tmp = Path(tempfile.mkdtemp(prefix=f".hf-{split}-", dir=out))
        self.path = self.tmp / "data.arrow"
        self.schema = schema(encoder)
        self.sink = pa.OSFile(str(self.path), "wb")
        self.writer = pa.ipc.new_stream(self.sink, self.schema)
        self.rows: list[dict[str, Any]] = []
        self.dtype = encoder.vocab.np_dtype
        self.docs = self.tokens = 0

    def add(self, utt_id: str, enc: Encoded) -> None:
        row: dict[str, Any] = {"id": utt_id, "num_frames": enc.frames}
        t = enc.tokens
        if isinstance(t, dict):
            row.update({k: np.asarray(v).astype(self.dtype).tolist() for k, v in t.items()})
        else:
            row["input_ids"] = np.asarray(t).astype(self.dtype).tolist()
        if enc.durations is not None:
            row["durations"] = enc.durations.tolist()
        self.rows.append(row)
        self.docs += 1
        self.tokens += token_count(enc)
        if len(self.rows) >= ROWS_PER_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> dict[str, Any]:
        self._flush()
        self.writer.close()
        self.sink.close()
        return {"documents": self.docs, "tokens": self.tokens, "_arrow": self.path}


def finish(out: Path, encoder: FeedEncoder, stats: dict[str, dict[str, Any]]) -> list[str]:
    try:
        import datasets
    except ImportError:
        raise AudiotokError(
            "the hf export needs the datasets package: pip install 'audiotok[feed]'"
        ) from None
    parts = {}
    for split, s in stats.items():
        parts[SPLIT_NAMES[split]] = datasets.Dataset.from_file(str(s.pop("_arrow")))
    datasets.DatasetDict(parts).save_to_disk(str(out))
    for p in out.glob(".hf-*"):
        shutil.rmtree(p, ignore_errors=True)
    return ["dataset_dict.json", *sorted(parts)]


HF = Format(
    "hf",
    HFWriter,
    flat=False,
    finish=finish,
    summary="a DatasetDict (train, validation) for datasets.load_from_disk",
)
