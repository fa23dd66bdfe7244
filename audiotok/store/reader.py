"""Reading a token store: ``audiotok.open_tokens(dir)`` iterates ``(id, codes)``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec
from audiotok.store import manifest as M
from audiotok.store.schema import codes_to_numpy


class TokenStore:
    """A token store directory. Iterating yields ``(id, codes)``: int64 [T'] for K = 1,
    [K, T'] otherwise. Only shards the manifest lists are read."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise AudiotokError(f"token store {self.dir} does not exist")
        m = M.read(self.dir)
        if m is None:
            raise AudiotokError(f"{self.dir} holds no manifest.json: not a token store")
        self.manifest = m

    @property
    def spec(self) -> TokenSpec:
        return self.manifest.spec

    @property
    def errors(self) -> list[dict[str, str]]:
        return self.manifest.errors

    @property
    def shard_paths(self) -> list[Path]:
        return [self.dir / s["file"] for s in self.manifest.shards]

    def __len__(self) -> int:
        return self.manifest.num_utterances

    def rows(self) -> Iterator[dict[str, Any]]:
        k = self.spec.num_codebooks
        for path in self.shard_paths:
            pf = pq.ParquetFile(path)
            for batch in pf.iter_batches(batch_size=256):
                for row in batch.to_pylist():
                    row["codes"] = codes_to_numpy(row["codes"], k)
                    yield row

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for row in self.rows():
            yield row["id"], row["codes"]

    def ids(self) -> list[str]:
        out: list[str] = []
        for path in self.shard_paths:
            out.extend(pq.read_table(path, columns=["id"]).column("id").to_pylist())
        return out

    def get(self, utt_id: str) -> dict[str, Any]:
        for path in self.shard_paths:
            t = pq.read_table(path, filters=[("id", "=", utt_id)])
            if t.num_rows:
                row = t.slice(0, 1).to_pylist()[0]
                row["codes"] = codes_to_numpy(row["codes"], self.spec.num_codebooks)
                return row
        raise KeyError(f"no utterance {utt_id!r} in {self.dir}")

    def to_table(self) -> pa.Table:
        tables = [pq.read_table(p) for p in self.shard_paths]
        return pa.concat_tables(tables) if tables else pa.table({})

    def __repr__(self) -> str:
        return f"TokenStore({str(self.dir)!r}, {self.spec.name}, {len(self)} utterances)"
