"""Megatron-LM's indexed dataset: ``<split>_text_document.bin`` + ``.idx``.

The layout ``megatron.core.datasets.indexed_dataset`` reads (``_IndexWriter`` /
``_IndexReader`` in megatron-core 0.16): the ``.bin`` holds every document's tokens back to
back in the index's dtype; the ``.idx`` is the header ``MMIDIDX\\x00\\x00``, version ``<Q 1``,
the dtype code ``<B`` (uint16 = 8, int32 = 4), ``<Q`` sequence count, ``<Q`` document count
(including the leading 0), then int32 sequence lengths, int64 byte pointers, int64 document
indices ``[0, 1, ..., N]``. One document is one sequence ending in EOS, as
``tools/preprocess_data.py --append-eod`` writes them; ``<split>_text_document`` is that
tool's ``{prefix}_{key}_{level}`` name, the prefix ``--data-path`` takes. The dtype follows
the vocabulary (uint16 up to 65,536 ids, else int32; Megatron's own ``optimal_dtype`` switches
at 65,500).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.feed.encoder import Encoded, FeedEncoder
from audiotok.feed.exporters.base import Format, IdsFile

HEADER = b"MMIDIDX\x00\x00"
DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}


class MegatronWriter:
    def __init__(self, out: Path, split: str, encoder: FeedEncoder):
        self.prefix = out / f"{split}_text_document"
        self.dtype = np.dtype(encoder.vocab.np_dtype)
        self.bin = open(self.prefix.with_suffix(".bin"), "wb")  # noqa: SIM115
        self.ids = IdsFile(out / f"{split}.ids")
        self.lengths: list[int] = []

    def add(self, utt_id: str, enc: Encoded) -> None:
        t = np.asarray(enc.tokens).astype(self.dtype)
        self.bin.write(t.tobytes(order="C"))
        self.lengths.append(len(t))
        self.ids.add(utt_id)

    def close(self) -> dict[str, Any]:
        self.bin.close()
        self.ids.close()
        lengths = np.array(self.lengths, dtype=np.int32)
        pointers = np.concatenate([[0], np.cumsum(lengths.astype(np.int64))[:-1]]) * (
            self.dtype.itemsize
        )
        docs = np.arange(len(lengths) + 1, dtype=np.int64)
        with open(self.prefix.with_suffix(".idx"), "wb") as f:
            f.write(HEADER)
            f.write(struct.pack("<Q", 1))
            f.write(struct.pack("<B", DTYPE_CODES[self.dtype]))
            f.write(struct.pack("<Q", len(lengths)))
            f.write(struct.pack("<Q", len(docs)))
            f.write(lengths.tobytes(order="C"))
            f.write(pointers.astype(np.int64)[: len(lengths)].tobytes(order="C"))
            f.write(docs.tobytes(order="C"))
        return {"documents": len(lengths), "tokens": int(lengths.sum(dtype=np.int64))}


MEGATRON = Format(
    "megatron",
    MegatronWriter,
    summary="<split>_text_document.bin/.idx (Megatron-LM --data-path <split>_text_document)",
)
