"""The token payload of the store layer: Parquet shards, one row per utterance.

Columns: ``id``, ``path`` (the source audio, relative to the record's ``audio_root``, or
absolute when it lies outside it), ``duration_s``, ``num_frames``, ``codes`` (``list<uint16>``
for K = 1, ``list<list<uint16>>`` [K][T'] otherwise; uint32 past 65,536 entries; ``large_list``
where a shard holds more than 2^31 - 1 codes). Each shard carries the TokenSpec, the tokenizer
recipe and the format version in its Parquet key-value metadata, so one file describes itself.

Codes are checked on the way in: ``[K, T']`` integers with ``0 <= code < codebook_size``.
Multi-rate tokens (a spec with ``codebook_frame_rates``: SNAC) are stored ragged, each
codebook at its own rate: see :mod:`audiotok.store.multirate`.
Shards are cut by count (``shard_size`` utterances), by size (``shard_bytes`` of codes) and
by time (``commit_every_s``, 30 s by default: a killed run keeps what it finished).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audiotok.errors import AudiotokError, InvalidTokensError, SpecMismatchError
from audiotok.spec import TokenSpec
from audiotok.store import record as R
from audiotok.store.files import audio_path_in_row, commit_tmp, fsync_dir, new_tmp
from audiotok.store.layer import ShardedWriter

SHARD_RE = re.compile(r"^shard-(\d{6})\.(parquet|npy)$")
CODES_DIR = ".codes"  # flat uint16/uint32 copies of the shards' codes, memory-mapped by readers
INT32_MAX = (1 << 31) - 1
META_SPEC = b"audiotok.spec"
META_RECIPE = b"audiotok.recipe"
META_FORMAT = b"audiotok.format_version"


def code_dtype(codebook_size: int) -> type[np.unsignedinteger]:
    return np.uint16 if codebook_size <= 1 << 16 else np.uint32


def code_type(num_codebooks: int, codebook_size: int, large: bool = False) -> pa.DataType:
    item = pa.uint16() if codebook_size <= 1 << 16 else pa.uint32()
    lst = pa.large_list if large else pa.list_
    return lst(item) if num_codebooks == 1 else pa.list_(lst(item))


def schema(num_codebooks: int, codebook_size: int, large: bool = False) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("path", pa.string()),
            ("duration_s", pa.float64()),
            ("num_frames", pa.int32()),
            ("codes", code_type(num_codebooks, codebook_size, large)),
        ]
    )


def check_codes(utt_id: str, codes: Any, spec: TokenSpec) -> np.ndarray:
    """codes as [K, T'] of the store's dtype, or InvalidTokensError naming what is wrong."""
    k = spec.num_codebooks
    if spec.multirate:
        from audiotok.store.multirate import to_flat

        c = to_flat(utt_id, codes, spec.strides)  # 1-D: the codebooks back to back
    else:
        c = np.asarray(codes)
    if c.ndim == 1 and k == 1:
        c = c.reshape(1, -1)
    if not spec.multirate and (c.ndim != 2 or c.shape[0] != k):
        raise InvalidTokensError(
            f"utterance {utt_id!r}: codes must be [K={k}, T'], got shape {tuple(c.shape)}"
        )
    if c.dtype.kind not in "iu":
        raise InvalidTokensError(f"utterance {utt_id!r}: codes must be integers, got {c.dtype}")
    if c.size:
        lo, hi = int(c.min()), int(c.max())
        if lo < 0 or hi >= spec.codebook_size:
            bad = lo if lo < 0 else hi
            raise InvalidTokensError(
                f"utterance {utt_id!r}: code {bad} is outside 0..{spec.codebook_size - 1} "
                f"(codebook size {spec.codebook_size} of {spec.name})"
            )
    return np.ascontiguousarray(c, dtype=code_dtype(spec.codebook_size))


def codes_array(
    codes: list[np.ndarray], k: int, typ: pa.DataType, strides: tuple[int, ...] | None = None
) -> pa.Array:
    """Build the ``codes`` column without going through Python lists; ``strides``: rows are
    multi-rate (1-D, codebooks back to back), inner list k of ``T' / strides[k]`` codes."""
    large = pa.types.is_large_list(typ if k == 1 else typ.value_type)
    off_dtype = np.int64 if large else np.int32
    list_cls = pa.LargeListArray if large else pa.ListArray
    lengths = np.array([c.shape[-1] for c in codes], dtype=np.int64)
    flat = np.concatenate([c.reshape(-1) for c in codes]) if codes else np.zeros(0, np.uint16)
    values = pa.array(flat)
    if k == 1:
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(off_dtype)
        return list_cls.from_arrays(pa.array(offsets), values)
    if strides is not None:
        from audiotok.store.multirate import frames_of

        frames = [int(frames_of(len(c), strides) or 0) for c in codes]
        inner_len = [t // s for t in frames for s in strides]
    else:
        inner_len = np.repeat(lengths, k).tolist()
    inner_off = np.concatenate([[0], np.cumsum(inner_len, dtype=np.int64)]).astype(off_dtype)
    inner = list_cls.from_arrays(pa.array(inner_off), values)
    outer = np.arange(0, k * len(codes) + 1, k, dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(outer), inner)


class TokenWriter(ShardedWriter):
    """Writes a token store; ``add(id, path, duration_s, codes[K, T'])``, ``close()``."""

    FORMAT = R.TOKENS
    SHARD_RE = SHARD_RE
    DATA_DIR_RE = re.compile(r"^\.codes$")

    def __init__(
        self,
        directory: str | Path,
        spec: TokenSpec,
        *,
        recipe: Any = None,
        overwrite: bool = False,
        shard_size: int = 1000,
        shard_bytes: int = 256 << 20,
        run: dict[str, Any] | None = None,
        audio_root: str | Path | None = None,
        warn: Any = None,
        commit_every_s: float | None = None,
    ):
        if shard_size < 1 or shard_bytes < 1:
            raise AudiotokError("shard size and shard bytes must be at least 1")
        self.spec = spec
        self.recipe = recipe
        identity = {"spec": spec.to_dict(), "recipe": recipe.to_dict() if recipe else None}
        super().__init__(
            directory,
            identity,
            overwrite=overwrite,
            run=run,
            audio_root=audio_root,
            warn=warn,
            commit_every_s=commit_every_s,
        )
        self.shard_size = shard_size
        self.shard_bytes = shard_bytes
        self._rows: list[tuple[str, str, float, np.ndarray]] = []
        self._nbytes = 0

    # --- identity --------------------------------------------------------------------------
    def identity_keys(self) -> tuple[str, ...]:
        return ("spec", "recipe")

    def check_identity(self, old: R.Record, new: dict[str, Any]) -> None:
        TokenSpec.from_dict(old.data["spec"]).check_same(TokenSpec.from_dict(new["spec"]))
        a, b = old.data.get("recipe"), new.get("recipe")
        if a and b:
            from audiotok.recipe import recipe_from_dict

            diffs = recipe_from_dict(a).diff(recipe_from_dict(b))
            if diffs:
                raise SpecMismatchError(
                    f"{self.dir} holds tokens made with other tokenizer options "
                    f"({'; '.join(diffs)}); use the same options, a new directory or --overwrite"
                )

    # --- rows ------------------------------------------------------------------------------
    def add(self, utt_id: str, path: str, duration_s: float, codes: Any) -> None:
        """One utterance: codes ``[K, T']`` (or ``[T']`` for K = 1); ``path`` its audio."""
        if not isinstance(utt_id, str) or not utt_id:
            raise InvalidTokensError(f"utterance ids must be non-empty strings, got {utt_id!r}")
        if utt_id in self.done_ids:
            raise AudiotokError(f"utterance {utt_id!r} is already in the store")
        c = check_codes(utt_id, codes, self.spec)
        self._rows.append((utt_id, self._rel_path(path), float(duration_s), c))
        self._nbytes += c.nbytes
        self.done_ids.add(utt_id)
        self.clear_error(utt_id)
        if len(self._rows) >= self.shard_size or self._nbytes >= self.shard_bytes or self.due():
            self.flush()

    def _rel_path(self, path: str | os.PathLike) -> str:
        return audio_path_in_row(path, self.record.audio_root)

    def flush(self) -> None:
        if self._rows:
            self._write_shard()
        self.commit()

    def _write_shard(self) -> None:
        rows, self._rows, self._nbytes = self._rows, [], 0
        k, size = self.spec.num_codebooks, self.spec.codebook_size
        large = sum(r[3].size for r in rows) > INT32_MAX
        sch = schema(k, size, large)
        table = pa.table(
            {
                "id": pa.array([r[0] for r in rows], pa.string()),
                "path": pa.array([r[1] for r in rows], pa.string()),
                "duration_s": pa.array([r[2] for r in rows], pa.float64()),
                "num_frames": pa.array([self._frames(r[3]) for r in rows], pa.int32()),
                "codes": codes_array(
                    [r[3] for r in rows],
                    k,
                    sch.field("codes").type,
                    self.spec.strides if self.spec.multirate else None,
                ),
            },
            schema=sch.with_metadata(self._file_metadata()),
        )
        name = f"shard-{self.next_shard_index():06d}.parquet"
        self._write_table(table, name)
        flat = self._write_flat([r[3] for r in rows], name)
        self.add_shard(
            {
                "file": name,
                "files": [name, flat],
                "num_utterances": len(rows),
                "duration_s": round(sum(r[2] for r in rows), 6),
                "num_frames": int(sum(self._frames(r[3]) for r in rows)),
            }
        )

    def _frames(self, c: np.ndarray) -> int:
        """Frames of a checked row (the finest frames for multi-rate rows)."""
        if self.spec.multirate:
            from audiotok.store.multirate import frames_of

            return int(frames_of(len(c), self.spec.strides) or 0)
        return int(c.shape[-1])

    def _write_flat(self, codes: list[np.ndarray], parquet_name: str) -> str:
        """The shard's codes once more, flat (each utterance's ``[K, T']`` in C order, in row
        order) in a ``.npy`` that readers memory-map: iteration and ``get`` then cost no
        Parquet decoding. Parquet stays the interchange format; tokens are small next to
        the audio they come from, so the second copy is cheap."""
        rel = f"{CODES_DIR}/{parquet_name.replace('.parquet', '.npy')}"
        final = self.dir / rel
        final.parent.mkdir(exist_ok=True)
        tmp = new_tmp(final)
        flat = np.concatenate([c.reshape(-1) for c in codes]) if codes else np.zeros(0)
        try:
            with open(tmp, "wb") as f:
                np.save(f, flat.astype(code_dtype(self.spec.codebook_size), copy=False))
            commit_tmp(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(final.parent)
        return rel

    def _file_metadata(self) -> dict[bytes, bytes]:
        recipe = self.recipe.to_dict() if self.recipe else None
        return {
            META_SPEC: json.dumps(self.spec.to_dict()).encode(),
            META_RECIPE: json.dumps(recipe).encode(),
            META_FORMAT: str(R.FORMAT_VERSION).encode(),
        }

    def _write_table(self, table: pa.Table, name: str) -> None:
        final = self.dir / name
        tmp = new_tmp(final)
        try:
            pq.write_table(table, tmp, compression="zstd")
            commit_tmp(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(self.dir)

    # --- resume and adopt ------------------------------------------------------------------
    def shard_ids(self, entry: dict[str, Any]) -> list[str]:
        return self.shard_ids_of(self.dir, entry)

    def shard_ids_of(self, directory: Path, entry: dict[str, Any]) -> list[str]:
        col = pq.read_table(directory / entry["file"], columns=["id"]).column("id")
        return [str(x) for x in col.to_pylist()]

    def adopt_shard(
        self, src: Path, src_record: R.Record, entry: dict[str, Any], *, move: bool
    ) -> None:
        name = f"shard-{self.next_shard_index():06d}.parquet"
        src_file = src / entry["file"]
        files = [name]
        flat_src = [f for f in entry.get("files", {}) if f.startswith(f"{CODES_DIR}/")]
        for f in flat_src:  # the flat copy does not depend on the audio root
            rel = f"{CODES_DIR}/{name.replace('.parquet', '.npy')}"
            (self.dir / CODES_DIR).mkdir(exist_ok=True)
            _place(src / f, self.dir / rel, move)
            files.append(rel)
        if (src_record.audio_root or None) == (self.record.audio_root or None):
            _place(src_file, self.dir / name, move)
        else:  # rows' paths are relative to the other root: rewrite them against ours
            table = pq.read_table(src_file)
            root = Path(src_record.audio_root or src)
            paths = [self._rel_path(root / p) for p in table.column("path").to_pylist()]
            idx = table.schema.get_field_index("path")
            table = table.set_column(idx, "path", pa.array(paths, pa.string()))
            table = table.replace_schema_metadata(self._file_metadata())
            self._write_table(table, name)
            if move:
                src_file.unlink()
        fsync_dir(self.dir)
        self.add_shard(
            {
                "file": name,
                "files": files,
                "num_utterances": entry["num_utterances"],
                "duration_s": entry.get("duration_s", 0.0),
                "num_frames": entry.get("num_frames", 0),
            }
        )


def _place(src: Path, dst: Path, move: bool) -> None:
    if move:
        os.replace(src, dst) if src.stat().st_dev == dst.parent.stat().st_dev else shutil.move(
            src, dst
        )
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
