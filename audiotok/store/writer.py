"""Writing a token store: Parquet shards that appear atomically, a manifest that commits them.

A rerun on the same directory resumes: utterances in committed shards are skipped, files
left by a killed run (temporary files, shards the manifest does not list) are removed, and
tokens of a different tokenizer are refused.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec
from audiotok.store import manifest as M
from audiotok.store.schema import schema

SHARD_RE = re.compile(r"^shard-(\d{6})\.parquet$")


class StoreWriter:
    def __init__(
        self,
        directory: str | Path,
        spec: TokenSpec,
        *,
        overwrite: bool = False,
        shard_size: int = 1000,
        run: dict[str, Any] | None = None,
    ):
        self.dir = Path(directory)
        if self.dir.exists() and not self.dir.is_dir():
            raise AudiotokError(f"output {self.dir} exists and is not a directory")
        self.dir.mkdir(parents=True, exist_ok=True)
        existing = M.read(self.dir)  # raises for a manifest.json that is not a token store's
        if existing is None:
            stray = [p.name for p in self.dir.iterdir() if not _is_store_file(p.name)]
            if stray:
                raise AudiotokError(
                    f"output {self.dir} is not empty and holds no token store "
                    f"(e.g. {stray[0]}); choose an empty or new directory"
                )
        if overwrite and existing is not None:  # only the store's own files go
            _remove_store_files(self.dir)
            existing = None
        if existing is not None:
            existing.spec.check_same(spec)
        self.manifest = existing or M.Manifest(spec)
        self.manifest.spec = spec
        self.manifest.run = {**self.manifest.run, **(run or {}), "updated": _now()}
        self.manifest.run.setdefault("created", self.manifest.run["updated"])
        self._clean_orphans()
        self.done_ids = self._committed_ids()
        self._errors = {e["id"]: e for e in self.manifest.errors}
        self.shard_size = shard_size
        self._rows: list[tuple[str, str, float, np.ndarray]] = []
        self._schema = schema(spec.num_codebooks, spec.codebook_size)
        M.write(self.dir, self._sync_errors())

    # --- resume ------------------------------------------------------------------------
    def _clean_orphans(self) -> None:
        listed = {s["file"] for s in self.manifest.shards}
        for p in self.dir.iterdir():
            if p.name.endswith(".tmp") or (SHARD_RE.match(p.name) and p.name not in listed):
                p.unlink()

    def _committed_ids(self) -> set[str]:
        ids: set[str] = set()
        for s in self.manifest.shards:
            col = pq.read_table(self.dir / s["file"], columns=["id"]).column("id")
            ids.update(col.to_pylist())
        return ids

    # --- adding ------------------------------------------------------------------------
    def add(self, utt_id: str, path: str, duration_s: float, codes: np.ndarray) -> None:
        """codes: int array [K, T'] (or [T'] for K = 1)."""
        if utt_id in self.done_ids:
            raise AudiotokError(f"utterance {utt_id!r} is already in the store")
        self._rows.append((utt_id, path, float(duration_s), codes))
        self.done_ids.add(utt_id)
        self._errors.pop(utt_id, None)
        if len(self._rows) >= self.shard_size:
            self.flush()

    def add_error(self, utt_id: str, path: str, reason: str) -> None:
        self._errors[utt_id] = {"id": utt_id, "path": path, "reason": reason}

    def flush(self) -> None:
        if self._rows:
            self._write_shard()
        M.write(self.dir, self._sync_errors())

    def close(self) -> M.Manifest:
        self.flush()
        return self.manifest

    def _sync_errors(self) -> M.Manifest:
        self.manifest.errors = sorted(self._errors.values(), key=lambda e: e["id"])
        self.manifest.run["updated"] = _now()
        return self.manifest

    def _write_shard(self) -> None:
        k = self.manifest.spec.num_codebooks
        rows, self._rows = self._rows, []
        codes_type = self._schema.field("codes").type
        table = pa.table(
            {
                "id": pa.array([r[0] for r in rows], pa.string()),
                "path": pa.array([r[1] for r in rows], pa.string()),
                "duration_s": pa.array([r[2] for r in rows], pa.float64()),
                "num_frames": pa.array([int(r[3].shape[-1]) for r in rows], pa.int32()),
                "codes": _codes_array([r[3] for r in rows], k, codes_type),
            },
            schema=self._schema,
        )
        name = f"shard-{self._next_index():06d}.parquet"
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{name}.", suffix=".tmp")
        os.close(fd)
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        M.fsync_dir(self.dir)
        self.manifest.shards.append(
            {
                "file": name,
                "num_utterances": len(rows),
                "duration_s": round(sum(r[2] for r in rows), 6),
                "num_frames": int(sum(r[3].shape[-1] for r in rows)),
            }
        )

    def _next_index(self) -> int:
        used = [int(m.group(1)) for s in self.manifest.shards if (m := SHARD_RE.match(s["file"]))]
        return max(used, default=-1) + 1


def _codes_array(codes: list[np.ndarray], k: int, typ: pa.DataType) -> pa.Array:
    item_type = typ.value_type if k == 1 else typ.value_type.value_type
    np_type = np.uint16 if item_type == pa.uint16() else np.uint32
    lengths = np.array([c.shape[-1] for c in codes], dtype=np.int64)
    if k == 1:
        flat = np.concatenate([c.reshape(-1) for c in codes]) if codes else np.zeros(0)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat.astype(np_type)))
    flat = np.concatenate([c.reshape(k, -1).reshape(-1) for c in codes]) if codes else np.zeros(0)
    inner_offsets = np.concatenate([[0], np.cumsum(np.repeat(lengths, k))]).astype(np.int32)
    inner = pa.ListArray.from_arrays(pa.array(inner_offsets), pa.array(flat.astype(np_type)))
    outer_offsets = np.arange(0, k * len(codes) + 1, k, dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(outer_offsets), inner)


def _is_store_file(name: str) -> bool:
    return name == M.MANIFEST or bool(SHARD_RE.match(name)) or name.endswith(".tmp")


def _remove_store_files(directory: Path) -> None:
    for p in directory.iterdir():
        if _is_store_file(p.name) and p.is_file():
            p.unlink()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
