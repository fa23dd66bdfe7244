"""WebDataset: tar shards ``<split>-NNNNNN.tar`` of ``shard_size`` samples each.

A sample is ``<key>.tokens.npy`` (the token array in the vocabulary's dtype; ``ar.npy`` and
``nar.npy`` for the VALL-E split), ``<key>.durations.npy`` with dedup, and ``<key>.json``
(``id``, ``num_frames``). Keys are the running sample number (``%09d``): utterance ids hold
slashes and dots, which WebDataset would read as key/extension separators. Read them with
``webdataset.WebDataset(urls).decode()``: ``.npy`` is decoded by numpy without pickles.
Written with the standard library's ``tarfile``.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.feed.encoder import Encoded, FeedEncoder
from audiotok.feed.exporters.base import Format, token_count

DEFAULT_SHARD_SIZE = 10_000


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


class WebDatasetWriter:
    def __init__(self, out: Path, split: str, encoder: FeedEncoder, shard_size: int):
        self.out, self.split, self.shard_size = out, split, shard_size
        self.dtype = encoder.vocab.np_dtype
        self.tar: tarfile.TarFile | None = None
        self.shards: list[str] = []
        self.docs = self.tokens = 0

    def _member(self, name: str, data: bytes) -> None:
        assert self.tar is not None
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        self.tar.addfile(info, io.BytesIO(data))

    def add(self, utt_id: str, enc: Encoded) -> None:
        if self.docs % self.shard_size == 0:
            if self.tar is not None:
                self.tar.close()
            name = f"{self.split}-{len(self.shards):06d}.tar"
            self.tar = tarfile.open(self.out / name, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
            self.shards.append(name)
        key = f"{self.docs:09d}"
        t = enc.tokens
        if isinstance(t, dict):
            for k, v in t.items():
                self._member(f"{key}.{k}.npy", _npy(np.asarray(v).astype(self.dtype)))
        else:
            self._member(f"{key}.tokens.npy", _npy(np.asarray(t).astype(self.dtype)))
        if enc.durations is not None:
            self._member(f"{key}.durations.npy", _npy(enc.durations.astype(np.int32)))
        meta = {"id": utt_id, "num_frames": enc.frames}
        self._member(f"{key}.json", json.dumps(meta).encode())
        self.docs += 1
        self.tokens += token_count(enc)

    def close(self) -> dict[str, Any]:
        if self.tar is not None:
            self.tar.close()
        return {"documents": self.docs, "tokens": self.tokens, "shards": self.shards}


def webdataset_format(shard_size: int = DEFAULT_SHARD_SIZE) -> Format:
    return Format(
        "webdataset",
        lambda out, split, enc: WebDatasetWriter(out, split, enc, shard_size),
        flat=False,
        summary=f"<split>-NNNNNN.tar shards of {shard_size} samples (tokens.npy + json)",
    )
