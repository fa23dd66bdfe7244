"""Batches from DataLoader worker processes to the main process through reused shared memory.

Why. A DataLoader worker hands each batch to the main process by pickling it; torch moves
every tensor's storage into a fresh shared-memory segment and passes its file descriptor
through a socket connection (``torch.multiprocessing.reductions``: ``share_memory_`` then
``DupFd``), a new segment and a file-descriptor round trip for every storage of every
batch, which costs far more than making a packed batch. Reusing shared memory is what
torch's ``file_system`` sharing strategy does, but a library must not switch a process-wide
strategy, so the feed does its own, for its own batches only.

How. Each worker process keeps a small pool of slots: files in ``/dev/shm`` (allocated up
front, mapped with ``mmap``), each with a one-byte flag (1: a batch in it is being made or
is held by the main process). Packed batches are made in a slot (``Arena``: the packer's
tensors are views of it); other batches are copied into one (64-byte aligned). The worker
yields a ``Shipped`` handle whose pickle is a few hundred bytes (the slot's file path, each
tensor's key, dtype, shape and place; tensors back to back with one dtype and shape, such
as a packed batch's five, as one entry), and unpickling it in the main process (``receive``)
maps the slot (once: the mapping is kept while the file exists) and returns plain dicts of
tensors that are views of the mapping. When the last of them is freed, a
``weakref.finalize`` clears the flag and the worker may reuse the slot. No free slot and a
full pool (the main process keeps many batches): the batch goes the ordinary way, so the
values are the same either way. Values that are not tensors (the ids of padded batches)
travel in the pickle.

Files. A worker unlinks its slots when it exits (``multiprocessing.util.Finalize``, run by
every multiprocessing child on its way out, torch's DataLoader workers included); a worker
killed by a signal leaves its slots in ``/dev/shm`` (``audiotok-feed-<pid>-*``). Without
``/dev/shm`` (not Linux) batches go the ordinary way.

The handle is not a Mapping, so the DataLoader's ``default_convert`` (``batch_size=None``)
passes it through untouched; a DataLoader that batches again (``batch_size`` set) cannot
collate it: the feed's datasets yield whole batches, use ``batch_size=None``.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import secrets
import weakref
from collections.abc import Iterator
from multiprocessing import util
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiotok.errors import AudiotokError

SHM_DIR = Path("/dev/shm")
HEADER = 64  # byte 0: the flag; data from here, every tensor 64-byte aligned
MAX_SLOTS = 8  # per worker: the DataLoader keeps prefetch_factor (2) batches in flight
MIN_BYTES = 1 << 20


class _Slot:
    def __init__(self, path: Path, size: int):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # allocated now, not on first write: a full /dev/shm (64 MB in a default Docker
            # container) is an OSError here rather than a SIGBUS in the middle of a batch
            os.posix_fallocate(fd, 0, size)
            self.mm = mmap.mmap(fd, size)
        except OSError:
            path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        self.path, self.size = path, size
        self.data = np.frombuffer(self.mm, dtype=np.uint8)
        self.bytes = torch.from_numpy(self.data)  # the same memory as a torch uint8 tensor
        self.base = self.bytes.data_ptr()

    def free(self) -> bool:
        return self.mm[0] == 0


class Ring:
    """The worker side: a pool of at most ``MAX_SLOTS`` slots, grown on demand."""

    def __init__(self, directory: Path = SHM_DIR):
        self.dir = directory
        self.slots: list[_Slot] = []
        self.paths: list[Path] = []  # every file this worker made (unlinked at its exit)
        self.prefix = f"audiotok-feed-{os.getpid()}-{secrets.token_hex(4)}"
        self.serial = 0
        self.grows = True  # False once /dev/shm had no room: keep the slots there are
        util.Finalize(self, _unlink, args=(self.paths, os.getpid()), exitpriority=10)

    def arena(self, size: int) -> Arena:
        """A free slot of at least ``size`` bytes to make tensors in (``Arena.empty``)."""
        slot = self._slot(size)
        if slot is not None:
            slot.mm[0] = 1
        return Arena(slot)

    def ship(self, batch: dict[str, Any] | list[dict[str, Any]], arena: Arena | None = None) -> Any:
        """A ``Shipped`` handle for a batch or a list of batches, or the value itself when no
        slot is free. Tensors all made in ``arena`` stay where they are; otherwise they are
        copied into one slot (and the arena's slot is freed)."""
        many = isinstance(batch, list)
        group: list[dict[str, Any]] = batch if isinstance(batch, list) else [batch]
        if arena is not None and arena.slot is not None:
            done = arena.handle(group, many)
            if done is not None:
                return done
            arena.slot.mm[0] = 0
        layouts: list[list[tuple[str, Any]]] = []
        at = HEADER
        for b in group:
            layout: list[tuple[str, Any]] = []
            for key, v in b.items():
                a = _array(v)
                if a is not None:
                    layout.append((key, (a, at)))
                    at += -(-a.nbytes // 64) * 64
                else:
                    layout.append((key, v))
            layouts.append(layout)
        slot = self._slot(at)
        if slot is None:
            return batch
        slot.mm[0] = 1
        batches: list[list[tuple[Any, ...]]] = []
        for layout in layouts:
            items: list[tuple[Any, ...]] = []
            for key, v in layout:
                if isinstance(v, tuple):
                    a, off = v
                    dst = slot.data[off : off + a.nbytes].view(a.dtype).reshape(a.shape)
                    np.copyto(dst, a, casting="no")
                    items.append((key, a.dtype.str, a.shape, off))
                else:
                    items.append((key, v))
            batches.append(items)
        return Shipped(str(slot.path), slot.size, batches, many)

    def _slot(self, need: int) -> _Slot | None:
        spare = None
        for i, s in enumerate(self.slots):
            if s.free():
                if s.size >= need:
                    return s
                spare = i
        size = max(MIN_BYTES, -(-need // MIN_BYTES) * MIN_BYTES)
        if len(self.slots) < MAX_SLOTS:
            return self._new(size, len(self.slots))
        if spare is not None:  # a free slot too small: replace it by a bigger one
            return self._new(size, spare)
        return None

    def _new(self, size: int, at: int) -> _Slot | None:
        if not self.grows:
            return None
        self.serial += 1
        path = self.dir / f"{self.prefix}-{self.serial}"
        self.paths.append(path)
        try:
            slot = _Slot(path, size)
        except OSError:  # no room: the batches that find no slot go the ordinary way
            self.grows = False
            return None
        if at == len(self.slots):
            self.slots.append(slot)
        else:
            self.slots[at] = slot
        return slot


def _array(v: Any) -> np.ndarray | None:
    """A CPU tensor's numpy view, or None (other values, dtypes numpy lacks: pickled)."""
    if not isinstance(v, torch.Tensor) or v.device.type != "cpu" or v.requires_grad:
        return None
    try:
        return v.numpy()
    except (TypeError, RuntimeError):
        return None


class Arena:
    """Tensors made one after another in a slot (a bump allocator), so that a batch built in
    them ships without a copy; ``torch.empty`` once the slot is full or when there is none."""

    def __init__(self, slot: _Slot | None):
        self.slot, self.at = slot, HEADER

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype = torch.int64) -> torch.Tensor:
        n = math.prod(shape) * dtype.itemsize
        if self.slot is None or self.at + n > self.slot.size:
            return torch.empty(shape, dtype=dtype)
        raw = self.slot.data[self.at : self.at + n]
        self.at += -(-n // 64) * 64
        dt = _numpy_of.get(dtype) or _numpy_dtype(torch.empty(0, dtype=dtype))
        if dt is None:  # a dtype numpy lacks (bfloat16): a view of the torch bytes
            return torch.from_numpy(raw).view(dtype).view(shape)
        # numpy views + from_numpy: a third of the cost of slicing and viewing a torch tensor
        return torch.from_numpy(raw.view(_np(dt))).view(shape)

    def handle(self, batches: list[dict[str, Any]], many: bool) -> Shipped | None:
        """The handle of batches whose tensors all lie in this arena's slot, else None."""
        assert self.slot is not None
        base, top = self.slot.base, self.slot.size
        out: list[list[tuple[Any, ...]]] = []
        for b in batches:
            items: list[tuple[Any, ...]] = []
            for key, v in b.items():
                dt = _numpy_of.get(v.dtype) if type(v) is torch.Tensor else None
                if dt is None and (dt := _numpy_dtype(v)) is None:
                    items.append((key, v))
                    continue
                off = v.data_ptr() - base
                if not (HEADER <= off <= top - v.nbytes and v.is_contiguous()):
                    return None  # made elsewhere (the slot was full): ship() copies
                shape = tuple(v.shape)
                last = items[-1] if items else None
                if (  # right after the previous tensor, same dtype and shape: one item,
                    # (keys, dtype, shape, place, how many), read back as one array
                    last is not None
                    and len(last) >= 4
                    and last[1:3] == (dt, shape)
                    and off == last[3] + (last[4] if len(last) == 5 else 1) * v.nbytes
                ):
                    keys = last[0] if len(last) == 5 else (last[0],)
                    items[-1] = (*keys, key), dt, shape, last[3], len(keys) + 1
                else:
                    items.append((key, dt, shape, off))
            out.append(items)
        return Shipped(str(self.slot.path), self.slot.size, out, many)


def _numpy_dtype(v: Any) -> str | None:
    """A CPU tensor's numpy dtype string (what ``receive`` reads), or None: pickled."""
    if not isinstance(v, torch.Tensor) or v.device.type != "cpu" or v.requires_grad:
        return None
    dt = _numpy_of.get(v.dtype)
    if dt is None:
        a = _array(v)
        if a is None:
            return None
        dt = _numpy_of[v.dtype] = a.dtype.str
    return dt


_numpy_of: dict[torch.dtype, str] = {}


class Shipped:
    """Batches in a shared-memory slot; unpickles as the batch (a dict of tensors), or as the
    list of batches when ``many``."""

    def __init__(self, path: str, size: int, batches: list[list[tuple[Any, ...]]], many: bool):
        self.path, self.size, self.batches, self.many = path, size, batches, many

    def __reduce__(self) -> tuple[Any, ...]:
        return receive, (self.path, self.size, self.batches, self.many)

    def open(self) -> Any:
        """The batch(es), in this process (what unpickling gives in another)."""
        return receive(self.path, self.size, self.batches, self.many)


_mapped: dict[str, mmap.mmap] = {}  # the main side's mappings, kept while their files exist
_dtypes: dict[str, np.dtype] = {}


def receive(path: str, size: int, batches: list[list[tuple[Any, ...]]], many: bool) -> Any:
    """The main side: the slot's batches as dicts of tensors (views of the mapping; the slot is
    released when the last of them is freed)."""
    mm = _mapped.get(path)
    if mm is None:
        forget()
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as e:
            raise AudiotokError(f"a feed worker's batch {path} is gone ({e.strerror})") from None
        try:
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        _mapped[path] = mm
    whole = np.frombuffer(mm, dtype=np.uint8)  # each tensor below holds it (numpy's .base)
    out: list[dict[str, Any]] = []
    for items in batches:
        b: dict[str, Any] = {}
        for item in items:
            if len(item) == 2:
                b[item[0]] = item[1]
                continue
            key, dt, shape, off = item[:4]
            dtype = _np(dt)
            n = math.prod(shape) * dtype.itemsize
            if len(item) == 5:  # tensors back to back (a packed batch's five views)
                rows = whole[off : off + item[4] * n].view(dtype).reshape((item[4], *shape))
                b.update(zip(key, torch.from_numpy(rows).unbind(0), strict=True))
            else:
                b[key] = torch.from_numpy(whole[off : off + n].view(dtype).reshape(shape))
        out.append(b)
    weakref.finalize(whole, _release, mm)  # runs when the last view's storage is freed
    return out if many else out[0]


def forget() -> None:
    """Drop the mappings of slots whose worker has exited (their files are gone); batches
    still held keep their own reference."""
    for path in [p for p in _mapped if not os.path.exists(p)]:
        del _mapped[path]


def _release(mm: mmap.mmap) -> None:
    if not mm.closed:
        mm[0] = 0


def _np(dt: str) -> np.dtype:
    """The numpy dtype of a dtype string of ``_numpy_dtype`` (cached)."""
    return _dtypes.get(dt) or _dtypes.setdefault(dt, np.dtype(dt))


def _unlink(paths: list[Path], pid: int) -> None:
    if os.getpid() != pid:  # a fork of the worker inherits the finalizer: not its files
        return
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


GROUP_BYTES = 8 << 20  # a StatefulLoader worker's message: batches up to this size ...
GROUP_MOST = 64  # ... or this many


def groups(batches: Iterator[dict[str, Any]], first: int = 0) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches in lists of ``GROUP_MOST`` or ``GROUP_BYTES`` (the first of
    ``first`` batches when resuming inside a message). Where a list ends depends only on the
    batches from its start, so a resumed worker's lists end where the first run's did."""
    group: list[dict[str, Any]] = []
    size, limit = 0, first or GROUP_MOST
    for batch in batches:
        group.append(batch)
        size += sum(v.nbytes for v in batch.values() if isinstance(v, torch.Tensor))
        if len(group) >= limit or (not first and size >= GROUP_BYTES):
            yield group
            group, size, limit, first = [], 0, GROUP_MOST, 0
    if group:
        yield group


_ring: Ring | None = None
_ring_pid = -1


def worker_ring() -> Ring | None:
    """This worker process's ring (made on first use), or None without ``/dev/shm``."""
    global _ring, _ring_pid
    if _ring_pid != os.getpid():
        _ring_pid = os.getpid()
        _ring = Ring() if SHM_DIR.is_dir() and os.access(SHM_DIR, os.W_OK) else None
    return _ring
