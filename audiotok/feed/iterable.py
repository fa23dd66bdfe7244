"""The iterable dataset: sharded by rank and worker, shuffled by seed and epoch, packed into
fixed-length contexts, resumable mid-epoch.

Order. Each epoch, the blocks (store shards) are permuted with ``rng(seed, epoch)`` and the
documents inside each block with ``rng(seed, epoch, block)`` (a two-level shuffle, as
WebDataset-style loaders do: a batch draws from one or two shards). The resulting sequence of
N documents is cut into ``world_size x num_workers`` contiguous slices of N // slots or
N // slots + 1 documents; slot ``rank * num_workers + worker`` reads only its slice (and so
only the shards it overlaps). Every document is read once per epoch, by one worker of one rank.

Packing (``context_length=L``). A slot's documents (each ending in EOS) form one token stream,
cut as Megatron-LM's GPTDataset does: context j covers stream tokens ``[jL, jL + L]``, so
``input_ids = tokens[:L]`` and ``labels = tokens[1:]`` and every token but the first is a label
exactly once. Each context comes with ``doc_ids`` (0, 1, ... per document inside the context,
-1 on padding: block attention across documents with ``block_causal_mask``), ``position_ids``
(position inside the document) and ``attention_mask``. The stream's tail is padded (``pad``,
labels -100) unless ``drop_last``. Without packing, batches are padded documents
(``pad_collate``), any pattern.

Resume. Every batch carries ``_resume`` = [worker slot, num_workers, document, token offset]:
where its slot's stream continues. ``StatefulLoader`` (or iterating in-process) records those
of the batches actually consumed; ``state_dict()`` saves them and the DataLoader worker to ask
next, and a loader built after ``load_state_dict`` continues each slot's stream where it
stopped and rotates the workers so the round-robin order carries on. Resume with the same
seed, epoch, world size, num_workers, batch size and context length.

Ranks may get different numbers of packed batches (documents differ in length): run DDP for a
fixed number of steps, or drop the last steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from audiotok.errors import AudiotokError
from audiotok.feed.collate import pad_collate
from audiotok.feed.dataset import example_dict
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.source import BlockReader, SubsetSource, as_source

STATE_VERSION = 1


class TokenIterableDataset(torch.utils.data.IterableDataset):
    """Batches (dicts of tensors) from a token source; see the module docstring.

    ``ids`` restricts the dataset to a split (read shard by shard all the same).
    """

    def __init__(
        self,
        source: Any,
        encoder: FeedEncoder | None = None,
        *,
        pattern: str = "flatten",
        context_length: int | None = None,
        batch_size: int = 8,
        shuffle: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
        ids: Sequence[str] | None = None,
        **encoder_options: Any,
    ):
        self.source = as_source(source)
        if ids is not None:
            self.source = SubsetSource(self.source, ids)
        self.encoder = encoder or FeedEncoder.for_source(self.source, pattern, **encoder_options)
        if batch_size < 1:
            raise AudiotokError("batch_size must be at least 1")
        if context_length is not None:
            if context_length < 1:
                raise AudiotokError("context_length must be at least 1")
            if not self.encoder.flat or self.encoder._eos is None:
                raise AudiotokError(
                    f"packing needs one flat token sequence per document ending in EOS; pattern "
                    f"{self.encoder.pattern.name} gives rows: use pattern='flatten' with eos, "
                    "or context_length=None for padded batches"
                )
        if rank is None or world_size is None:
            rank, world_size = _dist_rank_world()
        if not 0 <= rank < world_size:
            raise AudiotokError(f"rank {rank} is not in 0..{world_size - 1}")
        self.context_length, self.batch_size = context_length, batch_size
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._positions: dict[int, tuple[int, int]] = {}
        self._num_workers: int | None = None
        self._next_worker = 0
        self._rotation = 0
        self._reader: BlockReader | None = None

    # --- epoch and state -----------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Shuffle for another epoch (and forget the position inside the previous one)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self._reset()

    def _reset(self) -> None:
        self._positions, self._num_workers, self._next_worker, self._rotation = {}, None, 0, 0

    def _observe(self, resume: Any) -> None:
        slot, workers, doc, offset = (int(x) for x in np.asarray(resume).tolist())
        self._positions[slot] = (doc, offset)
        self._num_workers = workers
        self._next_worker = (slot + 1) % workers

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "epoch": self.epoch,
            "rank": self.rank,
            "world_size": self.world_size,
            "batch_size": self.batch_size,
            "context_length": self.context_length,
            "shuffle": self.shuffle,
            "num_workers": self._num_workers,
            "next_worker": self._next_worker,
            "positions": {str(k): list(v) for k, v in sorted(self._positions.items())},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise AudiotokError(f"unknown feed state version {state.get('version')}")
        for key in ("seed", "rank", "world_size", "batch_size", "context_length", "shuffle"):
            if state[key] != getattr(self, key):
                raise AudiotokError(
                    f"cannot resume: the state has {key}={state[key]!r}, this dataset "
                    f"{getattr(self, key)!r}; build the dataset with the same settings"
                )
        self.epoch = int(state["epoch"])
        self._positions = {int(k): (int(v[0]), int(v[1])) for k, v in state["positions"].items()}
        self._num_workers = state["num_workers"]
        self._next_worker = int(state["next_worker"])
        self._rotation = self._next_worker

    # --- order ---------------------------------------------------------------------------
    def _blocks(self) -> BlockReader:
        if self._reader is None:
            self._reader = BlockReader(self.source)
        return self._reader

    def slot_documents(self, slot: int, slots: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        """(position in the slot, (id, codes)) of slot ``slot`` of ``slots``, from ``start``."""
        reader = self._blocks()
        sizes = reader.sizes
        total = sum(sizes)
        lo, hi = slot * total // slots, (slot + 1) * total // slots
        rng = np.random.default_rng([self.seed, self.epoch])
        blocks = rng.permutation(len(sizes)) if self.shuffle else np.arange(len(sizes))
        at = 0  # first global position of the current block
        for b in blocks.tolist():
            size = sizes[b]
            a, e = max(lo + start, at), min(hi, at + size)
            if a < e:
                block = reader.read(b)
                if len(block) != size:
                    raise AudiotokError(f"block {b} changed while reading: {len(block)} != {size}")
                if self.shuffle:
                    inner = np.random.default_rng([self.seed, self.epoch, b]).permutation(size)
                else:
                    inner = np.arange(size)
                for g in range(a, e):
                    i = int(inner[g - at])
                    yield g - lo, (block.ids[i], block.codes(i))
            at += size
            if at >= hi:
                break

    # --- iteration -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        if self._positions and self._num_workers not in (None, workers):
            raise AudiotokError(
                f"cannot resume: the state was saved with num_workers={self._num_workers}, "
                f"the loader has {workers}; use the same number of workers"
            )
        local = (worker + self._rotation) % workers
        slot = self.rank * workers + local
        slots = self.world_size * workers
        doc, offset = self._positions.get(local, (0, 0))
        batches = (
            self._packed(slot, slots, doc, offset)
            if self.context_length is not None
            else self._padded(slot, slots, doc)
        )
        for batch, (next_doc, next_offset) in batches:
            resume = np.array([local, workers, next_doc, next_offset], dtype=np.int64)
            batch["_resume"] = torch.from_numpy(resume)
            if info is None:
                self._observe(resume)
            yield batch
        if info is None:
            self._reset()  # a finished pass: the next one starts the epoch again

    def _padded(self, slot: int, slots: int, doc: int) -> Iterator[tuple[dict, tuple[int, int]]]:
        pending: list[dict[str, Any]] = []
        pos = doc
        for pos, (utt_id, codes) in self.slot_documents(slot, slots, doc):
            pending.append(example_dict(utt_id, self.encoder.encode(codes)))
            if len(pending) == self.batch_size:
                yield pad_collate(pending, self.encoder.pad_id), (pos + 1, 0)
                pending = []
        if pending and not self.drop_last:
            yield pad_collate(pending, self.encoder.pad_id), (pos + 1, 0)

    def _packed(
        self, slot: int, slots: int, doc: int, offset: int
    ) -> Iterator[tuple[dict, tuple[int, int]]]:
        assert self.context_length is not None
        length, per_batch = self.context_length, self.batch_size
        need = per_batch * length + 1
        pieces: list[tuple[np.ndarray, int, int]] = []  # tokens, document, offset in it
        n = 0
        for pos, (_, codes) in self.slot_documents(slot, slots, doc):
            tokens = self.encoder.encode(codes).tokens
            start = offset if pos == doc else 0
            if start:
                tokens = tokens[start:]
            pieces.append((tokens, pos, start))
            n += len(tokens)
            while n >= need:
                batch, pieces, n, where = _emit(pieces, per_batch, length, self.encoder.pad_id)
                yield batch, where
        while n >= 2:
            contexts = min(per_batch, -(-(n - 1) // length))
            if self.drop_last and n - 1 < per_batch * length:
                return
            batch, pieces, n, where = _emit(pieces, contexts, length, self.encoder.pad_id)
            yield batch, where


Piece = tuple[np.ndarray, int, int]  # tokens, position of their document in the slot, offset


def _emit(
    pieces: list[Piece], contexts: int, length: int, pad: int
) -> tuple[dict[str, Any], list[Piece], int, tuple[int, int]]:
    """``contexts`` contexts of ``length`` from the front of the stream. Returns the batch, the
    pieces left (from the last label on: it is the next context's first input), their token
    count, and where the stream continues (document, offset)."""
    lens = np.array([len(p[0]) for p in pieces], dtype=np.int64)
    n = int(lens.sum())
    buf = np.concatenate([p[0] for p in pieces]).astype(np.int64, copy=False)
    piece_of = np.repeat(np.arange(len(pieces)), lens)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    total = contexts * length
    real = min(total, n - 1)  # input positions that have a next token
    x = np.full(total, pad, dtype=np.int64)
    x[:real] = buf[:real]
    labels = np.full(total, -100, dtype=np.int64)
    labels[:real] = buf[1 : real + 1]
    docs = np.full(total, -1, dtype=np.int64)
    docs[:real] = piece_of[:real]
    pos = np.zeros(total, dtype=np.int64)
    offsets = np.array([p[2] for p in pieces], dtype=np.int64)
    pos[:real] = np.arange(real) - starts[piece_of[:real]] + offsets[piece_of[:real]]
    grid = docs.reshape(contexts, length)
    docs = np.where(grid >= 0, grid - grid[:, :1], -1)
    batch: dict[str, Any] = {
        "input_ids": torch.from_numpy(x.reshape(contexts, length)),
        "labels": torch.from_numpy(labels.reshape(contexts, length)),
        "doc_ids": torch.from_numpy(docs),
        "position_ids": torch.from_numpy(pos.reshape(contexts, length)),
        "attention_mask": torch.from_numpy((docs >= 0).astype(np.int64)),
    }
    if total < n:  # the stream goes on from token `total`
        p = int(piece_of[total])
        cut = total - int(starts[p])
        tokens, docpos, off = pieces[p]
        rest = [(tokens[cut:], docpos, off + cut), *pieces[p + 1 :]]
        return batch, rest, n - total, (docpos, off + cut)
    return batch, [], 0, (pieces[-1][1] + 1, 0)


class StatefulLoader:
    """A DataLoader over a TokenIterableDataset that remembers what it delivered.

    ``StatefulLoader(ds, num_workers=2)``; iterate it; ``state_dict()`` at any step; later
    ``ds2 = TokenIterableDataset(...same settings...)``, ``loader2 = StatefulLoader(ds2,
    num_workers=2)``, ``loader2.load_state_dict(state)`` and iterating continues with the batch
    after the last one delivered. Takes the DataLoader's worker options (not ``batch_size``:
    the dataset batches; not ``persistent_workers``: workers must see each new state).
    """

    def __init__(self, dataset: TokenIterableDataset, **loader_options: Any):
        for bad in ("batch_size", "persistent_workers", "sampler", "shuffle"):
            if loader_options.get(bad):
                raise AudiotokError(f"StatefulLoader: {bad} belongs to the dataset, not the loader")
        loader_options.pop("batch_size", None)
        self.dataset = dataset
        self.options = loader_options

    def __iter__(self) -> Iterator[dict[str, Any]]:
        ds = self.dataset
        workers = max(1, int(self.options.get("num_workers", 0)))
        if ds._positions and ds._num_workers not in (None, workers):
            raise AudiotokError(
                f"cannot resume: the state was saved with num_workers={ds._num_workers}, "
                f"this loader has {workers}; use the same number of workers"
            )
        loader = torch.utils.data.DataLoader(ds, batch_size=None, **self.options)
        for batch in loader:
            ds._observe(batch.pop("_resume"))
            yield batch
        ds._reset()

    def state_dict(self) -> dict[str, Any]:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dataset.load_state_dict(state)


def _dist_rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
