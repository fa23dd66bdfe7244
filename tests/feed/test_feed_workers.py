"""The feed with DataLoader workers: batches travel through reused shared-memory slots
(``audiotok.feed.transport``) and, under ``StatefulLoader``, in runs of consecutive batches of
one worker per message.

Order. A plain ``DataLoader(ds, batch_size=None, num_workers=2)`` alternates the workers batch
by batch (its batches are recorded in ``test_feed_golden``, ``flatten_packed_2workers``, and
still match byte for byte). ``StatefulLoader`` alternates them run by run (``GROUP_MOST``
batches or ``GROUP_BYTES``): with 2 workers its order differs from the plain loader's, but it
gives the same multiset of batches, each worker's batches in the same order. With 2 workers
the contexts are not the in-process ones (each worker packs its own slice of the documents,
exactly what an in-process dataset with ``rank=w, world_size=2`` packs); with 1 worker the
order and the batches are the in-process ones. Every document is read exactly once.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from test_feed_golden import CASES, digest, stores  # noqa: E402

import audiotok  # noqa: E402
from audiotok.feed import transport  # noqa: E402
from audiotok.feed.iterable import StatefulLoader, TokenIterableDataset  # noqa: E402

FORK = {"multiprocessing_context": "fork"}  # the tests patch module constants before forking


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Any]:
    return stores(tmp_path_factory.mktemp("workers"))


def _digests(batches) -> list[str]:
    return [digest({k: v for k, v in b.items() if k != "_resume"}) for b in batches]


def _runs(streams: list[list[str]], size: int) -> list[str]:
    """The DataLoader's order of messages of ``size`` batches, workers taken in turn."""
    chunks = [[s[i : i + size] for i in range(0, len(s), size)] for s in streams]
    out: list[str] = []
    for j in range(max(len(c) for c in chunks)):
        for c in chunks:
            if j < len(c):
                out += c[j]
    return out


@pytest.mark.parametrize("case", ["flatten_packed_2workers", "delay_padded"])
def test_stateful_loader_runs_hold_each_workers_batches_in_order(sources, monkeypatch, case):
    monkeypatch.setattr(transport, "GROUP_MOST", 2)
    key, options, _ = CASES[case]
    src = sources[key]
    plain = _digests(
        torch.utils.data.DataLoader(
            TokenIterableDataset(src, **options), batch_size=None, num_workers=2, **FORK
        )
    )
    got = _digests(StatefulLoader(TokenIterableDataset(src, **options), num_workers=2, **FORK))
    per_worker = [
        _digests(TokenIterableDataset(src, **options, rank=w, world_size=2)) for w in range(2)
    ]
    assert got == _runs(per_worker, 2)  # runs of 2 batches, each worker's in its order
    assert sorted(got) == sorted(plain) and len(got) > 4
    assert got != plain  # the two loaders' orders do differ (runs vs single batches)


def test_one_worker_gives_the_in_process_batches(sources, monkeypatch):
    """All batches kept by the main process (more than a worker's slots): the values survive,
    the worker falls back to ordinary transfers once its slots are all held."""
    monkeypatch.setattr(transport, "GROUP_MOST", 1)
    options = dict(context_length=16, batch_size=3, seed=7)
    inproc = list(TokenIterableDataset(sources["acu"], **options))
    held = list(StatefulLoader(TokenIterableDataset(sources["acu"], **options), num_workers=1))
    assert len(held) == len(inproc) > transport.MAX_SLOTS
    assert _digests(held) == _digests(inproc)


@pytest.mark.parametrize("stop", [1, 4, 5])
def test_resume_inside_a_run_continues_exactly(sources, monkeypatch, stop):
    monkeypatch.setattr(transport, "GROUP_MOST", 3)
    options = dict(context_length=7, batch_size=2, seed=6)
    src = sources["acu"]
    full = _digests(StatefulLoader(TokenIterableDataset(src, **options), num_workers=2, **FORK))
    loader = StatefulLoader(TokenIterableDataset(src, **options), num_workers=2, **FORK)
    head = []
    for b in loader:
        head.append(b)
        if len(head) == stop:
            break
    state = loader.state_dict()
    assert state["group_left"] == (0 if stop % 3 == 0 else 3 - stop % 3)
    loader2 = StatefulLoader(TokenIterableDataset(src, **options), num_workers=2, **FORK)
    loader2.load_state_dict(state)
    assert _digests(head) + _digests(loader2) == full


def test_slots_are_reused_and_removed_when_the_workers_exit(sources):
    def ours() -> set[str]:
        return {p.name for p in transport.SHM_DIR.glob("audiotok-feed-*")}

    before = ours()
    seen: set[str] = set()
    ds = TokenIterableDataset(sources["acu"], context_length=4, batch_size=1, seed=3)
    n = 0
    for _ in torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2):
        seen |= ours() - before
        n += 1
    assert seen and n > 4 * transport.MAX_SLOTS  # used, and reused: far fewer files than batches
    assert len(seen) <= 2 * transport.MAX_SLOTS
    assert not (ours() & seen)  # the workers unlinked theirs on their way out


def test_ring_ships_a_batch_and_gets_its_slot_back(tmp_path):
    ring = transport.Ring(tmp_path)
    x = torch.arange(12, dtype=torch.int64).reshape(3, 4)
    batch = {"ids": ["a", "b", "c"], "x": x, "m": x > 5, "h": x.to(torch.bfloat16)}
    shipped = ring.ship(batch)
    assert isinstance(shipped, transport.Shipped)
    assert len(pickle.dumps(shipped)) < 1000  # the values stay in the slot...
    got = pickle.loads(pickle.dumps(shipped))  # ... and come back from it
    assert list(got) == list(batch) and got["ids"] == batch["ids"]
    for k in ("x", "m", "h"):
        assert got[k].dtype == batch[k].dtype and torch.equal(got[k], batch[k])
    slot = ring.slots[0]
    assert not slot.free()  # held by `got`
    x2 = got["x"]
    del got
    gc.collect()
    assert not slot.free()  # one tensor of the batch is enough to hold the slot
    assert torch.equal(x2, x)
    del x2
    gc.collect()
    assert slot.free()
    again = ring.ship({"x": x + 1}).open()
    assert len(ring.slots) == 1 and torch.equal(again["x"], x + 1)  # the same slot, reused


def test_ring_makes_packed_batches_in_place(tmp_path):
    ring = transport.Ring(tmp_path)
    arena = ring.arena(1 << 16)
    a = arena.empty((5, 2, 8))
    a.copy_(torch.arange(80).reshape(5, 2, 8))
    batches = [dict(zip("abcde", a.unbind(0), strict=True))]
    shipped = ring.ship(batches, arena)
    assert shipped.path == str(arena.slot.path)  # no copy: the tensors already lie in the slot
    got = shipped.open()
    assert isinstance(got, list) and torch.equal(got[0]["c"], a[2])
    a[2, 0, 0] = -1  # views of the same memory
    assert int(got[0]["c"][0, 0]) == -1


def test_first_shard_read_imports_neither_pandas_nor_arrow_datasets(sources):
    """pyarrow's ``read_table`` and ``to_numpy`` import pandas on first use: over a second in
    every DataLoader worker (each worker is a new process that reads its first shard)."""
    code = (
        "import sys, audiotok; s = audiotok.open_tokens(sys.argv[1]); s.shard_codes(0); "
        "print(sorted(m for m in ('pandas', 'pyarrow.dataset') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(sources["acu"])],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert out.stdout.strip() == "[]"
    store = audiotok.open_tokens(str(sources["acu"]))  # frame counts read from Arrow buffers
    for i, path in enumerate(store.shard_paths):
        want = pq.read_table(path, columns=["num_frames"]).column("num_frames").to_pylist()
        assert store.shard_codes(i).lengths().tolist() == want


def test_a_full_shm_folder_sends_batches_the_ordinary_way(tmp_path, monkeypatch):
    def no_room(fd, offset, size):
        raise OSError(28, "No space left on device")

    ring = transport.Ring(tmp_path)
    monkeypatch.setattr(os, "posix_fallocate", no_room)
    batch = {"x": torch.arange(6)}
    assert ring.ship(batch) is batch and not ring.grows
    assert not list(tmp_path.iterdir())  # the file it tried is gone
    arena = ring.arena(1 << 20)
    assert arena.slot is None and arena.empty((2, 3)).shape == (2, 3)


def test_a_run_of_packed_batches_fits_the_slot_it_is_made_in():
    """The slot reserved before a run is made holds the longest run ``groups`` can cut."""
    ds = TokenIterableDataset(transport_source(), context_length=8, seed=0)
    ds._grouped = True
    for batch_size in range(1, 17):
        for context in (7, 100, 500, 1000, 1500, 2048, 3000, 4096, 8192):
            ds.batch_size, ds.context_length = batch_size, context
            per = 5 * batch_size * context * 8
            most, held = 0, 0
            while most < transport.GROUP_MOST and held < transport.GROUP_BYTES:
                most, held = most + 1, held + per + 32  # groups: tensor bytes, + _resume
            need = most * (-(-per // 64) * 64 + 64)  # each tensor 64-byte aligned
            assert ds._message_bytes() - transport.HEADER >= need, (batch_size, context)


def transport_source():
    from feed_helpers import ACU, random_items

    from audiotok.feed.source import InMemorySource

    return InMemorySource(ACU, random_items(ACU, 3, seed=1))


def test_an_arena_makes_tensors_of_any_dtype_in_its_slot(tmp_path):
    arena = transport.Ring(tmp_path).arena(1 << 16)
    for dtype in (torch.int64, torch.int32, torch.bool, torch.bfloat16):
        t = arena.empty((3, 5), dtype)
        assert t.dtype == dtype and t.shape == (3, 5) and t.is_contiguous()
        off = t.data_ptr() - arena.slot.base
        assert off >= transport.HEADER and off % 64 == 0 and off + t.nbytes <= arena.slot.size


def test_a_packed_batch_travels_as_one_entry_and_comes_back_whole(tmp_path):
    ring = transport.Ring(tmp_path)
    arena = ring.arena(1 << 16)
    a = arena.empty((5, 2, 8))
    a.copy_(torch.arange(80).reshape(5, 2, 8))
    resume = arena.empty((4,))
    resume.copy_(torch.tensor([0, 1, 7, 3]))
    batch = {**dict(zip("abcde", a.unbind(0), strict=True)), "ids": ["x"], "_resume": resume}
    shipped = ring.ship([batch], arena)
    entries = shipped.batches[0]
    assert [e[0] for e in entries] == [("a", "b", "c", "d", "e"), "ids", "_resume"]
    got = pickle.loads(pickle.dumps(shipped))[0]
    assert list(got) == list(batch) and got["ids"] == ["x"]
    for k in "abcde":
        assert torch.equal(got[k], batch[k]) and got[k].is_contiguous()
    assert torch.equal(got["_resume"], resume)
    slot = arena.slot
    keep = got["e"]
    del got, batch, a, resume
    gc.collect()
    assert not slot.free()  # the last view of the one entry still holds the slot
    del keep
    gc.collect()
    assert slot.free()
