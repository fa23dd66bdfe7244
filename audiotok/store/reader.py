"""Reading a token store: ``audiotok.open_tokens(dir)``.

Iteration yields ``(id, codes)`` where ``codes`` is always ``[K, T']`` (uint16, or uint32
past 65,536 entries): a read-only numpy view into the shard's Arrow buffer, no per-row Python
lists. ``get(id)`` is O(1) through an id -> (shard, row) index built on first use; the
decoded columns of the last few shards are kept. Only shards the commit record lists are read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audiotok.errors import AudiotokError, CorruptStoreError
from audiotok.spec import TokenSpec
from audiotok.store import record as R


@dataclass
class ShardCodes:
    """The codes of one shard, as flat values and per-row offsets (no copies per row)."""

    ids: list[str]
    starts: np.ndarray  # int64 [n]: start of row i in ``values``
    ends: np.ndarray  # int64 [n]
    values: np.ndarray  # uint16/uint32 [total K * T']
    k: int

    def __len__(self) -> int:
        return len(self.ids)

    def codes(self, i: int) -> np.ndarray:
        return self.values[self.starts[i] : self.ends[i]].reshape(self.k, -1)

    def lengths(self) -> np.ndarray:
        """Frames per row."""
        return (self.ends - self.starts) // self.k


def shard_codes(path: Path, k: int) -> ShardCodes:
    try:
        t = pq.read_table(path, columns=["id", "codes"], memory_map=True)
    except (OSError, pa.ArrowException) as e:
        raise CorruptStoreError(
            f"{path} cannot be read ({str(e)[:120]}); `audiotok info --check {path.parent}` "
            "names the broken shards, and rerunning the encode command re-encodes them"
        ) from None
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
    return ShardCodes(ids, inner[outer[:-1]], inner[outer[1:]], values, k)


class TokenStore:
    """A token store folder (read-only)."""

    def __init__(self, directory: str | Path, *, audio_root: str | Path | None = None):
        self.dir = Path(directory)
        if not self.dir.exists():
            raise AudiotokError(f"token store {self.dir} does not exist")
        if not self.dir.is_dir():
            raise AudiotokError(
                f"{self.dir} is a file; a token store is the folder `audiotok encode -o` wrote"
            )
        rec = R.read(self.dir)
        if rec is None:
            raise AudiotokError(f"{self.dir} holds no {R.RECORD}: not a token store")
        if rec.format != R.TOKENS:
            raise AudiotokError(f"{self.dir} is a {rec.format} store, not a token store")
        self.manifest = rec
        self.spec = TokenSpec.from_dict(rec.data["spec"])
        self._root = Path(audio_root) if audio_root else None
        self._index: dict[str, tuple[int, int]] | None = None
        self._cache: OrderedDict[int, ShardCodes] = OrderedDict()

    # --- facts -----------------------------------------------------------------------------
    @property
    def recipe(self) -> Any:
        d = self.manifest.data.get("recipe")
        if not d:
            return None
        from audiotok.recipe import recipe_from_dict

        return recipe_from_dict(d)

    @property
    def errors(self) -> list[dict[str, str]]:
        return self.manifest.errors

    @property
    def shard_paths(self) -> list[Path]:
        return [self.dir / s["file"] for s in self.manifest.shards]

    @property
    def audio_root(self) -> Path | None:
        if self._root is not None:
            return self._root
        root = self.manifest.audio_root
        return Path(root) if root else None

    def __len__(self) -> int:
        return self.manifest.num_utterances

    def __contains__(self, utt_id: object) -> bool:
        return utt_id in self.index

    def __repr__(self) -> str:
        return f"TokenStore({str(self.dir)!r}, {self.spec.name}, {len(self)} utterances)"

    # --- codes -----------------------------------------------------------------------------
    def shard(self, i: int) -> ShardCodes:
        """The codes of shard ``i`` (the last few are cached)."""
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        sc = shard_codes(self.shard_paths[i], self.spec.num_codebooks)
        self._cache[i] = sc
        while len(self._cache) > 4:
            self._cache.popitem(last=False)
        return sc

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for i in range(len(self.shard_paths)):
            sc = shard_codes(self.shard_paths[i], self.spec.num_codebooks)
            for r, utt_id in enumerate(sc.ids):
                yield utt_id, sc.codes(r)

    @property
    def index(self) -> dict[str, tuple[int, int]]:
        if self._index is None:
            idx: dict[str, tuple[int, int]] = {}
            for s, path in enumerate(self.shard_paths):
                col = pq.read_table(path, columns=["id"]).column("id").to_pylist()
                for r, utt_id in enumerate(col):
                    idx[str(utt_id)] = (s, r)
            self._index = idx
        return self._index

    def ids(self) -> list[str]:
        return list(self.index)

    def get(self, utt_id: str) -> np.ndarray:
        """The codes ``[K, T']`` of one utterance."""
        try:
            s, r = self.index[utt_id]
        except KeyError:
            raise KeyError(f"no utterance {utt_id!r} in {self.dir}") from None
        return self.shard(s).codes(r)

    # --- rows ------------------------------------------------------------------------------
    def audio_path(self, utt_id: str) -> Path:
        s, r = self.index[utt_id]
        path = pq.read_table(self.shard_paths[s], columns=["path"]).column("path")[r].as_py()
        return self._resolve(path)

    def _resolve(self, path: str) -> Path:
        p = Path(path)
        if p.is_absolute():
            return p
        root = self.audio_root
        if root is None:
            inputs = self.manifest.run.get("inputs") or []
            root = Path(inputs[0]) if len(inputs) == 1 and Path(inputs[0]).is_dir() else self.dir
        return root / p

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row: id, path (as stored), audio_path (absolute), duration_s, num_frames,
        codes ``[K, T']``."""
        for i, path in enumerate(self.shard_paths):
            sc = shard_codes(path, self.spec.num_codebooks)
            meta = pq.read_table(path, columns=["path", "duration_s", "num_frames"]).to_pydict()
            for r, utt_id in enumerate(sc.ids):
                yield {
                    "id": utt_id,
                    "path": meta["path"][r],
                    "audio_path": self._resolve(meta["path"][r]),
                    "duration_s": meta["duration_s"][r],
                    "num_frames": meta["num_frames"][r],
                    "codes": sc.codes(r),
                    "shard": i,
                }

    def row(self, utt_id: str) -> dict[str, Any]:
        s, r = self.index[utt_id]
        path = self.shard_paths[s]
        meta = pq.read_table(path, columns=["path", "duration_s", "num_frames"]).slice(r, 1)
        d = meta.to_pylist()[0]
        return {
            "id": utt_id,
            **d,
            "audio_path": self._resolve(d["path"]),
            "codes": self.shard(s).codes(r),
        }

    def to_table(self) -> pa.Table:
        tables = [pq.read_table(p) for p in self.shard_paths]
        return pa.concat_tables(tables) if tables else pa.table({})

    def verify(self, *, checksums: bool = True) -> list[tuple[dict[str, Any], str]]:
        """(shard entry, what is wrong) for every broken shard."""
        from audiotok.store.layer import verify_shards

        return verify_shards(self.dir, self.manifest, checksums=checksums)
