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

Workers. In a DataLoader worker the batches travel through reused shared-memory slots
(``audiotok.feed.transport``; the values are the same). A plain ``DataLoader(ds,
batch_size=None, num_workers=W)`` gives the workers' batches in turn, one by one;
``StatefulLoader`` in runs of consecutive batches of one worker (up to
``transport.GROUP_MOST`` batches or ``GROUP_BYTES``), so with W > 1 its order differs from
the plain loader's but not its batches, each worker's in the same order. With W > 1 the
contexts differ from the in-process ones (W slots, W streams); with W = 1 they are the same,
in the same order.

Ranks may get different numbers of packed batches (documents differ in length): run DDP for a
fixed number of steps, or drop the last steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from audiotok.errors import AudiotokError
from audiotok.feed import kernels as kernel_code
from audiotok.feed import transport
from audiotok.feed.collate import pad_collate
from audiotok.feed.dataset import example_dict
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.packer import Packer
from audiotok.feed.source import Block, BlockReader, SubsetSource, as_source
from audiotok.feed.transport import HEADER, forget, groups, worker_ring

STATE_VERSION = 1


class TokenIterableDataset(torch.utils.data.IterableDataset):
    """Batches (dicts of tensors) from a token source; see the module docstring.

    ``ids`` restricts the dataset to a split (read shard by shard all the same). ``kernels``:
    who does the packed feed's token work, ``"auto"`` (compiled with numba where it is
    installed: ``audiotok[fast]``), ``"numpy"`` or ``"numba"``; the batches are the same.
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
        kernels: str = "auto",
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
        kernel_code.check(kernels)  # a bad choice fails here, not in a worker
        if kernels == "numba":
            kernel_code.load(kernels)  # and numba that does not import
        self.kernels = kernels
        self.context_length, self.batch_size = context_length, batch_size
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self._positions: dict[int, tuple[int, int]] = {}
        self._num_workers: int | None = None
        self._next_worker = 0
        self._rotation = 0
        self._group_left = 0  # batches left in the slot's current message (StatefulLoader)
        self._first_group = 0  # the resumed slot's first message: that many batches
        self._grouped = False  # set by StatefulLoader while its workers run
        self._arena: Any = None  # a worker's shared-memory slot the next batch is made in
        self._reader: BlockReader | None = None

    # --- epoch and state -----------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Shuffle for another epoch (and forget the position inside the previous one)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self._reset()

    def _reset(self) -> None:
        self._positions, self._num_workers, self._next_worker, self._rotation = {}, None, 0, 0
        self._group_left = self._first_group = 0

    def _observe(self, resume: Any, left: int = 0) -> None:
        """A batch was delivered; ``left`` more of its worker's message follow it."""
        values = (
            resume.tolist() if isinstance(resume, torch.Tensor) else np.asarray(resume).tolist()
        )
        slot, workers, doc, offset = (int(x) for x in values)
        self._seen(slot, workers, doc, offset, left)

    def _seen(self, slot: int, workers: int, doc: int, offset: int, left: int = 0) -> None:
        """``_observe`` from the values of ``_resume``."""
        self._positions[slot] = (doc, offset)
        self._num_workers = workers
        self._next_worker = slot if left else (slot + 1) % workers
        self._group_left = left

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
            "group_left": self._group_left,
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
        self._group_left = self._first_group = int(state.get("group_left", 0))

    # --- order ---------------------------------------------------------------------------
    def _blocks(self) -> BlockReader:
        if self._reader is None:
            self._reader = BlockReader(self.source)
        return self._reader

    def slot_blocks(
        self, slot: int, slots: int, start: int = 0
    ) -> Iterator[tuple[int, Block, np.ndarray]]:
        """The documents of slot ``slot`` of ``slots`` from its ``start``-th on, block by block:
        (position in the slot of the first, the block, the block's rows in order)."""
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
                yield a - lo, block, inner[a - at : e - at]
            at += size
            if at >= hi:
                break

    def slot_documents(self, slot: int, slots: int, start: int = 0) -> Iterator[tuple[int, Any]]:
        """(position in the slot, (id, codes)) of slot ``slot`` of ``slots``, from ``start``."""
        for first, block, rows in self.slot_blocks(slot, slots, start):
            for n, i in enumerate(rows.tolist()):
                yield first + n, (block.ids[i], block.codes(i))

    # --- iteration -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        """Batches (dicts of tensors); in a DataLoader worker, handles that unpickle as
        batches, or as lists of batches under ``StatefulLoader`` (see ``feed.transport``)."""
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
        stamped = _stamped(batches, local, workers, self._empty)
        if info is None:
            for batch, mark in stamped:
                self._seen(*mark)
                yield batch
            self._reset()  # a finished pass: the next one starts the epoch again
            return
        first = self._first_group if worker == 0 else 0  # worker 0 continues the resumed slot
        plain = (batch for batch, _ in stamped)
        units: Iterator[Any] = groups(plain, first) if self._grouped else plain
        ring = worker_ring()
        if ring is None:
            yield from units
            return
        size = self._message_bytes()  # packed batches are made in the slot they travel in
        while True:
            self._arena = ring.arena(size) if size else None
            try:
                unit = next(units)
            except StopIteration:
                break
            yield ring.ship(unit, self._arena)
        if self._arena is not None and self._arena.slot is not None:
            self._arena.slot.mm[0] = 0
        self._arena = None

    def _empty(self, shape: tuple[int, ...]) -> torch.Tensor:
        """An int64 tensor for a batch: in the worker's slot when there is one."""
        if self._arena is not None:
            return self._arena.empty(shape)
        # numpy's allocation, wrapped: a third of torch.empty's time, which counts at two
        # allocations per batch (like any from_numpy tensor's, its storage cannot be resized)
        return torch.from_numpy(np.empty(shape, np.int64))

    def _message_bytes(self) -> int:
        """Bytes of a worker's message of packed batches (0: padded batches, sizes vary)."""
        if self.context_length is None:
            return 0
        data = 5 * self.batch_size * self.context_length * 8
        one = -(-data // 64) * 64 + 64  # + _resume, each 64-byte aligned
        # groups() ends a run once it holds GROUP_BYTES (counted unaligned: data + 32 a batch)
        most = transport.GROUP_MOST if self._grouped else 1
        most = min(most, transport.GROUP_BYTES // (data + 32) + 1)
        return HEADER + most * one

    def _padded(self, slot: int, slots: int, doc: int) -> Iterator[tuple[dict, tuple[int, int]]]:
        if self.encoder.bulk_rows:
            yield from self._padded_rows(slot, slots, doc)
            return
        pending: list[dict[str, Any]] = []
        pos = doc
        for pos, (utt_id, codes) in self.slot_documents(slot, slots, doc):
            pending.append(example_dict(utt_id, self.encoder.encode(codes)))
            if len(pending) == self.batch_size:
                yield pad_collate(pending, self.encoder.pad_id), (pos + 1, 0)
                pending = []
        if pending and not self.drop_last:
            yield pad_collate(pending, self.encoder.pad_id), (pos + 1, 0)

    def _padded_rows(
        self, slot: int, slots: int, doc: int
    ) -> Iterator[tuple[dict, tuple[int, int]]]:
        """``_padded`` for row layouts, each batch built in place (``FeedEncoder.rows_batch``)."""
        pending: list[tuple[Block, int]] = []
        pos = doc
        for first, block, rows in self.slot_blocks(slot, slots, doc):
            for n, i in enumerate(rows.tolist()):
                pending.append((block, i))
                if len(pending) == self.batch_size:
                    yield self._rows_batch(pending), (first + n + 1, 0)
                    pending = []
            pos = first + len(rows)
        if pending and not self.drop_last:
            yield self._rows_batch(pending), (pos, 0)

    def _rows_batch(self, docs: list[tuple[Block, int]]) -> dict[str, Any]:
        x, widths = self.encoder.rows_batch(docs)
        mask = (np.arange(x.shape[-1]) < widths[:, None]).astype(np.int64)
        return {
            "ids": [block.ids[i] for block, i in docs],
            "input_ids": torch.from_numpy(x),
            "attention_mask": torch.from_numpy(mask),
            "lengths": torch.from_numpy(widths),
        }

    def _packed(
        self, slot: int, slots: int, doc: int, offset: int
    ) -> Iterator[tuple[dict, tuple[int, int]]]:
        assert self.context_length is not None
        kernels = kernel_code.load(self.kernels)
        packer = Packer(self.context_length, self.batch_size, self.encoder.pad_id, self._empty,
                        kernels)  # fmt: skip
        for first, block, rows in self.slot_blocks(slot, slots, doc):
            skip = offset if first == doc else 0  # resume inside a document (packer empty)
            lead = packer.available()  # the tokens still buffered go in front, not concatenated
            tokens, lengths = self.encoder.encode_block(block, rows, kernels, lead)
            packer.add(tokens[skip:], lengths, first + np.arange(len(rows)), skip, lead)
            while packer.full():
                yield packer.emit(self.batch_size)
        while packer.available() >= 2:
            if self.drop_last and packer.available() - 1 < packer.need - 1:
                return
            contexts = min(self.batch_size, -(-(packer.available() - 1) // packer.length))
            yield packer.emit(contexts)


def _stamped(
    batches: Iterator[tuple[dict, tuple[int, int]]], local: int, workers: int, empty: Any
) -> Iterator[tuple[dict[str, Any], tuple[int, int, int, int]]]:
    """Each batch with its ``_resume`` = [worker slot, num_workers, document, token offset],
    and those four values."""
    for batch, (next_doc, next_offset) in batches:
        mark = (local, workers, next_doc, next_offset)
        resume = empty((4,))
        resume.numpy()[:] = mark
        batch["_resume"] = resume
        yield batch, mark


class StatefulLoader:
    """A DataLoader over a TokenIterableDataset that remembers what it delivered.

    ``StatefulLoader(ds, num_workers=2)``; iterate it; ``state_dict()`` at any step; later
    ``ds2 = TokenIterableDataset(...same settings...)``, ``loader2 = StatefulLoader(ds2,
    num_workers=2)``, ``loader2.load_state_dict(state)`` and iterating continues with the batch
    after the last one delivered. Takes the DataLoader's worker options (not ``batch_size``:
    the dataset batches; not ``persistent_workers``: workers must see each new state).
    Each worker sends runs of consecutive batches, one message per run (the module docstring
    says what that does to the order); the state records where inside a run it stopped.
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
        ds._grouped = bool(self.options.get("num_workers"))
        try:
            it = iter(loader)  # the workers start here, with the dataset as it is now
        finally:
            ds._grouped = False
        for item in it:
            group = item if isinstance(item, list) else [item]
            for j, batch in enumerate(group):
                ds._observe(batch.pop("_resume"), len(group) - 1 - j)
                yield batch
        forget()  # the workers have exited: their slots' mappings can go
        ds._reset()

    def state_dict(self) -> dict[str, Any]:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dataset.load_state_dict(state)


def _dist_rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
