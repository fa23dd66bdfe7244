"""One shard of a token store, read: its codes as flat values and per-row offsets
(``ShardCodes``), from the flat memory-mapped copy (``flat_codes``) or decoded from Parquet
(``shard_codes``, whole or by row group); damage is a ``CorruptStoreError`` naming the file.
``TokenStore`` (:mod:`audiotok.store.reader`) picks which, and checks the shard first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audiotok.errors import CorruptStoreError
from audiotok.store.damage import one_line
from audiotok.store.multirate import check_ragged, expand, frames_per_row, split, units_per_row

__all__ = [
    "ShardCodes",
    "flat_codes",
    "int_column",
    "read_shard_table",
    "row_groups",
    "shard_codes",
]


@dataclass
class ShardCodes:
    """The codes of one shard, as flat values and per-row offsets (no copies per row)."""

    ids: list[str]
    starts: np.ndarray  # int64 [n]: start of row i in ``values``
    ends: np.ndarray  # int64 [n]
    values: np.ndarray  # uint16/uint32 [total K * T']
    k: int
    strides: tuple[int, ...] | None = None  # multi-rate rows (store/multirate.py)

    def __post_init__(self) -> None:
        # plain ndarray views (a memmap subclass costs microseconds per slice) and Python ints
        # for the bounds: per-row overhead stays well under a microsecond
        self.values = self.values.view(np.ndarray)
        self._bounds = list(zip(self.starts.tolist(), self.ends.tolist(), strict=True))

    def __len__(self) -> int:
        return len(self.ids)

    def codes(self, i: int) -> np.ndarray:
        a, b = self._bounds[i]
        if self.strides:
            return expand(self.values[a:b], self.strides)
        return self.values[a:b].reshape(self.k, -1)

    def codebooks(self, i: int) -> list[np.ndarray]:
        """Row ``i`` as one array per codebook, each at its own rate (views)."""
        a, b = self._bounds[i]
        return split(self.values[a:b], self.strides) if self.strides else list(self.codes(i))

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        if self.strides:
            yield from ((utt_id, self.codes(i)) for i, utt_id in enumerate(self.ids))
            return
        v, k = self.values, self.k
        for utt_id, (a, b) in zip(self.ids, self._bounds, strict=True):
            yield utt_id, v[a:b].reshape(k, -1)

    def lengths(self) -> np.ndarray:
        """Frames per row (the finest frames of multi-rate rows)."""
        if self.strides:
            return frames_per_row(self.ends - self.starts, self.strides)
        return (self.ends - self.starts) // self.k


def _broken(path: Path, e: Exception) -> CorruptStoreError:
    return CorruptStoreError(
        f"{path} cannot be read ({one_line(e)}); `audiotok info --check {path.parent}` "
        "names the broken shards, and rerunning the encode command re-encodes them"
    )


def shard_codes(
    path: Path, k: int, row_group: int | None = None, strides: tuple[int, ...] | None = None
) -> ShardCodes:
    """The codes of a shard file, or of one of its row groups."""
    try:
        if row_group is None:
            t = pq.read_table(path, columns=["id", "codes"], memory_map=True)
        else:
            t = pq.ParquetFile(path, memory_map=True).read_row_group(
                row_group, columns=["id", "codes"]
            )
    except (OSError, pa.ArrowException) as e:
        raise _broken(path, e) from None
    return _codes_of(t, k, strides, path)


def row_groups(path: Path) -> list[int]:
    """Rows per row group of a shard file."""
    try:
        md = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException) as e:
        raise _broken(path, e) from None
    return [md.row_group(i).num_rows for i in range(md.num_row_groups)]


def flat_codes(
    path: Path, flat: Path, k: int, strides: tuple[int, ...] | None = None
) -> ShardCodes:
    """A shard through its flat copy: ids and frame counts from Parquet (plain columns, fast),
    codes memory-mapped from the ``.npy`` (no decoding, no copy)."""
    try:
        # ParquetFile.read, not read_table: read_table imports pyarrow.dataset and pandas on
        # first use (over a second), which every DataLoader worker would pay on its first shard
        t = pq.ParquetFile(path, memory_map=True).read(columns=["id", "num_frames"])
        frames = int_column(t, "num_frames")
    except (OSError, ValueError, pa.ArrowException) as e:
        raise _broken(path, e) from None
    try:
        values = np.load(flat, mmap_mode="r", allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - a damaged .npy header fails in numpy's parser
        raise _broken(flat, e) from None  # (SyntaxError, tokenize.TokenError, EOFError...)
    if values.ndim != 1 or values.dtype not in (np.uint16, np.uint32):
        raise _broken(flat, ValueError(f"flat codes of {values.dtype} {values.shape}"))
    if (frames < 0).any():
        raise _broken(path, ValueError("a row has a negative frame count"))
    try:
        n = frames * k if strides is None else units_per_row(frames, strides, t.column("id"))
    except ValueError as e:
        raise _broken(path, e) from None
    ends = np.cumsum(n)
    if len(ends) and ends[-1] != len(values):
        raise _broken(flat, ValueError("the flat codes do not match the shard's frame counts"))
    return ShardCodes(t.column("id").to_pylist(), ends - n, ends, values, k, strides)


def int_column(t: pa.Table, name: str) -> np.ndarray:
    """An integer column without nulls as int64, from its Arrow buffers (``to_numpy`` imports
    pandas on first use, over a second in each DataLoader worker)."""
    col = t.column(name)
    if col.null_count or not pa.types.is_integer(col.type):
        raise ValueError(f"column {name} is {col.type} with {col.null_count} nulls")
    dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(col.type) else 'u'}{col.type.byte_width}")
    parts = [
        np.frombuffer(c.buffers()[1], dtype=dtype, count=len(c), offset=c.offset * dtype.itemsize)
        for c in col.chunks
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def read_shard_table(path: Path, columns: list[str] | None) -> pa.Table:
    """Columns of a shard file (all: None), memory-mapped; damage is a CorruptStoreError."""
    try:
        return pq.read_table(path, columns=columns, memory_map=True)
    except (OSError, pa.ArrowException) as e:
        raise _broken(path, e) from None


def _codes_of(
    t: pa.Table, k: int, strides: tuple[int, ...] | None = None, path: Path | None = None
) -> ShardCodes:
    arr = t.column("codes").combine_chunks()
    ids = [str(x) for x in t.column("id").to_pylist()]
    if k == 1:
        off = arr.offsets.to_numpy().astype(np.int64)
        values = arr.values.to_numpy(zero_copy_only=False)
        return ShardCodes(ids, off[:-1], off[1:], values, 1)
    outer = arr.offsets.to_numpy().astype(np.int64)
    inner_arr = arr.values
    inner = inner_arr.offsets.to_numpy().astype(np.int64)
    values = inner_arr.values.to_numpy(zero_copy_only=False)
    try:
        if strides is not None:
            check_ragged(inner, outer, ids, strides)
    except ValueError as e:
        raise _broken(path or Path("?"), e) from None
    return ShardCodes(ids, inner[outer[:-1]], inner[outer[1:]], values, k, strides)
