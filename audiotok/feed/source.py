"""Where the feed reads tokens from: a token store, an in-memory source, or a join of several.

``TokenSource`` is the minimal protocol the datasets and exporters take: ``spec``, ``ids()``,
``get(id) -> codes [K, T']``, ``__iter__`` over ``(id, codes)``, ``__len__``. Codes are raw
integers (no offsets; ``audiotok.feed.vocab`` applies offsets and nothing else does).

Bulk reads go block by block (a block is a store shard, or a run of ids for other sources):
``BlockReader(source)`` gives the block sizes without reading codes (a store's manifest) and
reads one block at a time through the store's reader (``TokenStore.shard_codes``: the shard's
flat codes, memory-mapped), so the feed holds no Parquet decoder of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec


@runtime_checkable
class TokenSource(Protocol):
    """What the feed needs from a token collection (a ``TokenStore`` satisfies it)."""

    @property
    def spec(self) -> TokenSpec: ...

    def ids(self) -> list[str]: ...

    def get(self, utt_id: str) -> np.ndarray: ...

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]: ...

    def __len__(self) -> int: ...


def as_codes(codes: Any, num_codebooks: int) -> np.ndarray:
    """Any codes value -> a [K, T'] integer array; a [T'] vector is K = 1."""
    c = np.asarray(codes)
    c = np.atleast_2d(c) if c.ndim == 1 else c  # in-memory sources may give [T'] for K = 1
    if c.ndim != 2 or c.shape[0] != num_codebooks:
        raise AudiotokError(f"codes must be [K={num_codebooks}, T'], got shape {c.shape}")
    if c.dtype.kind not in "iu":
        raise AudiotokError(f"codes must be integers, got {c.dtype}")
    return c


class InMemorySource:
    """A TokenSource over arrays in memory: ``InMemorySource(spec, {id: codes[K, T']})``.

    ``block_size`` ids form one block for bulk reads (as a store shard would).
    """

    def __init__(
        self,
        spec: TokenSpec,
        items: dict[str, Any] | Iterable[tuple[str, Any]],
        *,
        durations: dict[str, float] | None = None,
        block_size: int = 256,
    ):
        pairs = items.items() if isinstance(items, dict) else items
        self._spec = spec
        self._codes = {str(i): as_codes(c, spec.num_codebooks) for i, c in pairs}
        self._ids = list(self._codes)
        self._durations = durations or {}
        if block_size < 1:
            raise AudiotokError("block_size must be at least 1")
        self.block_size = block_size

    @property
    def spec(self) -> TokenSpec:
        return self._spec

    def ids(self) -> list[str]:
        return list(self._ids)

    def get(self, utt_id: str) -> np.ndarray:
        try:
            return self._codes[utt_id]
        except KeyError:
            raise KeyError(f"no utterance {utt_id!r} in this source") from None

    def duration(self, utt_id: str) -> float:
        return self._durations.get(utt_id, self._codes[utt_id].shape[1] / self._spec.frame_rate)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for i in self._ids:
            yield i, self._codes[i]

    def num_frames(self) -> dict[str, int]:
        return {i: int(c.shape[1]) for i, c in self._codes.items()}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, utt_id: object) -> bool:
        return utt_id in self._codes

    def __repr__(self) -> str:
        return f"InMemorySource({self._spec.name}, {len(self)} utterances)"


class StoreSource:
    """A token store seen through the TokenSource protocol, with a fast block reader.

    Blocks are the store's Parquet shards (``store.shard_paths``: the committed ones), read
    with pyarrow into zero-copy numpy views.
    """

    def __init__(self, store: Any):
        self.store = store
        self._shards: list[Path] | None = None

    @property
    def spec(self) -> TokenSpec:
        return self.store.spec

    @property
    def dir(self) -> Path:
        return Path(self.store.dir)

    def ids(self) -> list[str]:
        return list(self.store.ids())

    def get(self, utt_id: str) -> np.ndarray:
        return as_codes(self.store.get(utt_id), self.spec.num_codebooks)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        k = self.spec.num_codebooks
        for utt_id, codes in self.store:
            yield utt_id, as_codes(codes, k)

    def __len__(self) -> int:
        return len(self.store)

    def num_frames(self) -> dict[str, int]:
        """Frames of every utterance, through the store's shard reader (no codes decoded where
        the shards have their flat copy)."""
        out: dict[str, int] = {}
        for i in range(len(self.store.shard_paths)):
            sc = self.store.shard_codes(i)
            out.update(zip(sc.ids, sc.lengths().tolist(), strict=True))
        return out

    def shard_paths(self) -> list[Path]:
        if self._shards is None:
            paths = getattr(self.store, "shard_paths", None)
            if paths is None:  # the contract's layout: shard-NNNNNN.parquet in the folder
                paths = sorted(self.dir.glob("shard-*.parquet"))
            self._shards = [Path(p) for p in paths]
        return self._shards

    def __repr__(self) -> str:
        return f"StoreSource({str(self.dir)!r}, {self.spec.name}, {len(self)} utterances)"


def as_source(obj: Any) -> Any:
    """A path (token store directory), a TokenStore, or a TokenSource -> a TokenSource."""
    if isinstance(obj, (str, Path)):
        from audiotok import open_tokens

        return StoreSource(open_tokens(str(obj)))
    if isinstance(obj, (InMemorySource, StoreSource, SubsetSource)) or hasattr(obj, "specs"):
        return obj
    if hasattr(obj, "shard_paths") or (hasattr(obj, "dir") and hasattr(obj, "spec")):  # a store
        return StoreSource(obj)
    if isinstance(obj, TokenSource):
        return obj
    raise AudiotokError(
        f"{type(obj).__name__} is not a token source: pass a store directory, "
        "audiotok.open_tokens(dir), or an object with spec, ids(), get(id), iteration and len()"
    )


def num_frames(source: Any) -> dict[str, int]:
    """Frames T' of every utterance of a source (cheap where the source knows them)."""
    fn = getattr(source, "num_frames", None)
    if callable(fn):
        return dict(fn())
    return {i: int(source.get(i).shape[-1]) for i in source.ids()}


def specs_of(source: Any) -> list[TokenSpec]:
    """The TokenSpecs whose codebooks make up a source's rows, in row order."""
    specs = getattr(source, "specs", None)
    return list(specs) if specs else [source.spec]


# --- bulk reads ---------------------------------------------------------------------------
@dataclass
class Block:
    """One block of documents: ``ids[i]`` and ``codes(i) -> [K, T_i]`` (a view)."""

    ids: list[str]
    values: np.ndarray  # all codes of the block, row-major [K, T_i] per document
    starts: np.ndarray  # int64 start of document i in values
    lengths: np.ndarray  # int64 T_i
    k: int

    def codes(self, i: int) -> np.ndarray:
        s, t = int(self.starts[i]), int(self.lengths[i])
        return self.values[s : s + self.k * t].reshape(self.k, t)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: Sequence[int] | np.ndarray) -> Block:
        """The block restricted to ``rows`` (views of the same values)."""
        idx = np.asarray(rows, dtype=np.int64)
        return Block(
            [self.ids[i] for i in idx.tolist()],
            self.values,
            self.starts[idx],
            self.lengths[idx],
            self.k,
        )


class SubsetSource:
    """A source restricted to some ids (a split), in the source's order."""

    def __init__(self, source: Any, ids: Iterable[str]):
        self.source = source
        wanted = set(ids)
        self._ids = [i for i in source.ids() if i in wanted]
        if len(self._ids) != len(wanted):
            unknown = sorted(wanted - set(self._ids))
            raise AudiotokError(f"{len(unknown)} id(s) are not in the source, e.g. {unknown[0]!r}")
        self._set = set(self._ids)

    @property
    def spec(self) -> TokenSpec:
        return self.source.spec

    def __getattr__(self, name: str) -> Any:  # specs, row_keys of a joined source
        if name in ("specs", "row_keys", "split", "frame_rate"):
            return getattr(self.source, name)
        raise AttributeError(name)

    def ids(self) -> list[str]:
        return list(self._ids)

    def get(self, utt_id: str) -> np.ndarray:
        if utt_id not in self._set:
            raise KeyError(f"no utterance {utt_id!r} in this subset")
        return self.source.get(utt_id)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for i in self._ids:
            yield i, self.source.get(i)

    def __len__(self) -> int:
        return len(self._ids)

    def num_frames(self) -> dict[str, int]:
        frames = num_frames(self.source)
        return {i: frames[i] for i in self._ids}


class BlockReader:
    """Block sizes (cheap) and one block at a time (``read(i) -> Block``).

    A token store (or a subset of one) is read shard by shard through ``shard_codes``; any
    other source in runs of ``block_size`` ids through ``get``."""

    def __init__(self, source: Any, block_size: int = 256):
        self.source = source
        self.k = source.spec.num_codebooks
        self._store: Any = None
        self._subset: list[np.ndarray] | None = None
        self._ids: list[list[str]] | None = None
        base = source.source if isinstance(source, SubsetSource) else source
        multirate = bool(getattr(source.spec, "multirate", False))  # rows expand: via get
        if isinstance(base, StoreSource) and hasattr(base.store, "shard_codes") and not multirate:
            self._store = base.store
        if self._store is not None and isinstance(source, SubsetSource):
            rows: list[list[int]] = [[] for _ in self._store.shard_sizes]
            index = self._store.index
            for utt_id in source.ids():  # the store's order, as the source gives it
                shard, row = index[utt_id]
                rows[shard].append(row)
            self._subset = [np.array(sorted(r), dtype=np.int64) for r in rows]
            self.sizes = [len(r) for r in self._subset]
        elif self._store is not None:
            self.sizes = list(self._store.shard_sizes)
        else:
            bs = getattr(source, "block_size", block_size)
            ids = source.ids()
            self._ids = [ids[i : i + bs] for i in range(0, len(ids), bs)]
            self.sizes = [len(b) for b in self._ids]

    def __len__(self) -> int:
        return len(self.sizes)

    def read(self, i: int) -> Block:
        if self._store is not None:
            sc = self._store.shard_codes(i)
            block = Block(list(sc.ids), sc.values, sc.starts, sc.lengths(), self.k)
            return block if self._subset is None else block.take(self._subset[i])
        assert self._ids is not None
        ids = self._ids[i]
        arrays = [self.source.get(u) for u in ids]
        return _block_from_arrays(ids, arrays, self.k)


def _block_from_arrays(ids: Sequence[str], arrays: Sequence[np.ndarray], k: int) -> Block:
    lengths = np.array([a.shape[1] for a in arrays], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths * k)[:-1]]).astype(np.int64)
    if arrays:
        values = np.concatenate([np.ascontiguousarray(a).reshape(-1) for a in arrays])
    else:
        values = np.zeros(0, np.int64)
    return Block(list(ids), values, starts, lengths, k)
