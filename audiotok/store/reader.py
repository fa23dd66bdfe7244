"""Reading a token store: ``audiotok.open_tokens(dir)``.

Iteration yields ``(id, codes)`` where ``codes`` is always ``[K, T']`` (uint16, or uint32
past 65,536 entries; multi-rate stores: :mod:`audiotok.store.multirate`, and
``get_codebooks``): a read-only view into the shard's flat codes (``.codes/shard-N.npy``,
memory-mapped; no Parquet decoding, no per-row Python lists). ``get(id)`` is O(1) through an
id -> (shard, row) index built on first use. Shards of audiotok 0.1 stores have no flat copy:
they are decoded from Parquet (by row group for ``get``). Only committed shards are read, and
each is checked against the commit record (sizes and sha256) on its first use in a process
(:mod:`audiotok.store.verify`): damage is a ``CorruptStoreError`` naming the shard, never
wrong codes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec
from audiotok.store import record as R
from audiotok.store.damage import (
    DATA_ERRORS,
    NoSuchId,
    check_token_record,
    damaged_store,
    translated,
)
from audiotok.store.shards import ShardCodes, flat_codes, read_shard_table, row_groups, shard_codes


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
        check_token_record(self.dir, rec)
        self.manifest = rec
        try:
            self.spec = TokenSpec.from_dict(rec.data["spec"])
        except DATA_ERRORS as e:
            raise damaged_store(self.dir, e) from None
        self._root = Path(audio_root) if audio_root else None
        self._index: dict[str, tuple[int, int]] | None = None
        self._cache: OrderedDict[tuple[int, int], ShardCodes] = OrderedDict()
        self._groups: dict[int, list[int]] = {}
        self._verified: set[int] = set()

    # --- facts -----------------------------------------------------------------------------
    @property
    @translated
    def recipe(self) -> Any:
        d = self.manifest.data.get("recipe")
        if not d:
            return None
        from audiotok.recipe import recipe_from_dict

        return recipe_from_dict(d, f"{self.dir}: the recipe in its commit record")

    @property
    @translated
    def errors(self) -> list[dict[str, str]]:
        return self.manifest.errors

    @property
    @translated
    def shard_paths(self) -> list[Path]:
        """The committed shards' Parquet files, each checked against the record first."""
        return [self.shard_path(i) for i in range(len(self.manifest.shards))]

    def shard_path(self, i: int) -> Path:
        """Shard ``i``'s Parquet file, once its files (Parquet and flat copy) match the record;
        CorruptStoreError naming the shard and the repair otherwise."""
        entry = self.manifest.shards[i]
        if i not in self._verified:
            from audiotok.store.verify import check_shard

            check_shard(self.dir, entry)
            self._verified.add(i)
        return self.dir / entry["file"]

    @property
    def shard_sizes(self) -> list[int]:
        """Rows of each committed shard, from the manifest (no shard file is opened)."""
        return [int(s["num_utterances"]) for s in self.manifest.shards]

    @translated
    def shard_codes(self, i: int) -> ShardCodes:
        """All codes of shard ``i``: memory-mapped from its flat copy where it has one (format
        2), decoded from Parquet otherwise (stores of audiotok 0.1)."""
        entry = self.manifest.shards[i]
        flat = next((f for f in entry.get("files", {}) if f.endswith(".npy")), None)
        k = self.spec.num_codebooks
        path = self.shard_path(i)
        if flat is not None:
            return flat_codes(path, self.dir / flat, k, self._strides)
        return shard_codes(path, k, strides=self._strides)

    @property
    def _strides(self) -> tuple[int, ...] | None:
        return self.spec.strides if self.spec.multirate else None

    @property
    @translated
    def audio_root(self) -> Path | None:
        if self._root is not None:
            return self._root
        root = self.manifest.audio_root
        return Path(root) if root else None

    @translated
    def __len__(self) -> int:
        return self.manifest.num_utterances

    @translated
    def __contains__(self, utt_id: object) -> bool:
        return utt_id in self.index

    def __repr__(self) -> str:
        return f"TokenStore({str(self.dir)!r}, {self.spec.name}, {len(self)} utterances)"

    # --- codes -----------------------------------------------------------------------------
    def _has_flat(self, shard: int) -> bool:
        return any(f.endswith(".npy") for f in self.manifest.shards[shard].get("files", {}))

    @translated
    def locate(self, shard: int, row: int) -> tuple[ShardCodes, int]:
        """The codes holding row ``row`` of a shard, and the row's place in them: the whole
        shard memory-mapped where it has a flat copy, else the one decoded row group (stores of
        audiotok 0.1). The last few dozen are kept."""
        if self._has_flat(shard):
            key, r = (shard, -1), row
        else:
            sizes = self._groups.setdefault(shard, row_groups(self.shard_path(shard)))
            g = 0
            while row >= sizes[g]:
                row -= sizes[g]
                g += 1
            key, r = (shard, g), row
        sc = self._cache.get(key)
        if sc is None:
            if key[1] == -1:
                sc = self.shard_codes(shard)
            else:
                sc = shard_codes(
                    self.shard_path(shard), self.spec.num_codebooks, key[1], self._strides
                )
            self._cache[key] = sc
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return sc, r

    @translated
    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for i in range(len(self.shard_paths)):
            yield from self.shard_codes(i)

    @property
    @translated
    def index(self) -> dict[str, tuple[int, int]]:
        """id -> (shard, row)."""
        if self._index is None:
            idx: dict[str, tuple[int, int]] = {}
            for s, path in enumerate(self.shard_paths):
                col = read_shard_table(path, ["id"]).column("id").to_pylist()
                for r, utt_id in enumerate(col):
                    idx[str(utt_id)] = (s, r)
            self._index = idx
        return self._index

    @translated
    def ids(self) -> list[str]:
        return list(self.index)

    def _where(self, utt_id: str) -> tuple[ShardCodes, int]:
        try:
            s, r = self.index[utt_id]
        except KeyError:
            raise NoSuchId(f"no utterance {utt_id!r} in {self.dir}") from None
        return self.locate(s, r)

    @translated
    def get(self, utt_id: str) -> np.ndarray:
        """The codes ``[K, T']`` of one utterance (a memory-mapped slice)."""
        sc, i = self._where(utt_id)
        return sc.codes(i)

    @translated
    def get_codebooks(self, utt_id: str) -> list[np.ndarray]:
        """The codes of one utterance as one array per codebook, each at its own frame rate
        (``spec.rates``); for single-rate stores, the rows of ``get(id)``."""
        sc, i = self._where(utt_id)
        return sc.codebooks(i)

    # --- rows ------------------------------------------------------------------------------
    @translated
    def audio_path(self, utt_id: str) -> Path:
        return self.row(utt_id)["audio_path"]

    def _resolve(self, path: str) -> Path:
        p = Path(path)
        if p.is_absolute():
            return p
        root = self.audio_root
        if root is None:
            inputs = self.manifest.run.get("inputs") or []
            root = Path(inputs[0]) if len(inputs) == 1 and Path(inputs[0]).is_dir() else self.dir
        return root / p

    @translated
    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row: id, path (as stored), audio_path (absolute), duration_s, num_frames,
        codes ``[K, T']``."""
        for i, path in enumerate(self.shard_paths):
            sc = self.shard_codes(i)
            meta = read_shard_table(path, ["path", "duration_s", "num_frames"]).to_pydict()
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

    @translated
    def row(self, utt_id: str) -> dict[str, Any]:
        """One row: id, path, audio_path, duration_s, num_frames, codes ``[K, T']``."""
        try:
            s, r = self.index[utt_id]
        except KeyError:
            raise NoSuchId(f"no utterance {utt_id!r} in {self.dir}") from None
        cols = ["path", "duration_s", "num_frames"]
        meta = read_shard_table(self.shard_path(s), cols).slice(r, 1)
        d = meta.to_pylist()[0]
        sc, i = self.locate(s, r)
        return {"id": utt_id, **d, "audio_path": self._resolve(d["path"]), "codes": sc.codes(i)}

    @translated
    def to_table(self) -> pa.Table:
        tables = [read_shard_table(p, None) for p in self.shard_paths]
        return pa.concat_tables(tables) if tables else pa.table({})

    @translated
    def verify(self, *, checksums: bool = True) -> list[tuple[dict[str, Any], str]]:
        """(shard entry, what is wrong) for every broken shard."""
        from audiotok.store.layer import verify_shards

        return verify_shards(self.dir, self.manifest, checksums=checksums)
