"""The packed feed's compiled kernels (``kernels="numba"``) give the numpy code's batches, byte
for byte, over random stores and settings; the choice of kernels fails clearly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from feed_helpers import random_items, write_store

from audiotok.errors import AudiotokError
from audiotok.feed import kernels
from audiotok.feed.iterable import StatefulLoader, TokenIterableDataset
from audiotok.feed.source import InMemorySource
from audiotok.feed.vocab import VocabError, VocabSpec
from audiotok.spec import TokenSpec

# a codebook past uint16 with the specials (the vocabulary's dtype becomes int32)
WIDE = TokenSpec("acoustic", "wide-2x40000", 24000, 75.0, 2, 40000)
NARROW = TokenSpec("acoustic", "codec-3x50", 24000, 75.0, 3, 50)
KINDS = ("numpy", "numba")


def batches(ds: TokenIterableDataset) -> list[dict[str, np.ndarray]]:
    return [{k: v.numpy().copy() for k, v in b.items()} for b in ds]


def assert_same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b) and len(a) > 0
    for n, (x, y) in enumerate(zip(a, b, strict=True)):
        assert sorted(x) == sorted(y)
        for key in x:
            assert x[key].dtype == y[key].dtype and x[key].shape == y[key].shape, (n, key)
            assert np.array_equal(x[key], y[key]), f"batch {n}: {key} differs"


def settings(seed: int) -> tuple[TokenSpec, dict, dict]:
    """A random source spec, its items and dataset options."""
    rng = np.random.default_rng(seed)
    spec = (WIDE, NARROW)[seed % 2]
    items = random_items(spec, int(rng.integers(3, 30)), seed=seed, max_t=int(rng.integers(1, 60)))
    options = dict(
        context_length=int(rng.choice([1, 2, 7, 64, 500])),
        batch_size=int(rng.integers(1, 6)),
        seed=seed,
        shuffle=bool(rng.integers(0, 2)),
        drop_last=bool(rng.integers(0, 2)),
        bos=bool(rng.integers(0, 2)),
        markers=bool(rng.integers(0, 2)),
    )
    # dropping the last batch leaves some batches: contexts * batch well under the tokens
    options["drop_last"] &= options["context_length"] * options["batch_size"] <= 64
    if spec is NARROW and seed % 4 == 1:  # two of the three codebooks, in another order
        options["vocab"] = VocabSpec.build([NARROW], codebooks=[[2, 0]], markers=options["markers"])
    return spec, items, options


@pytest.mark.parametrize("seed", range(12))
def test_numba_batches_equal_numpy_batches(tmp_path, seed):
    spec, items, options = settings(seed)
    source = write_store(tmp_path / "tokens", spec, items, shard_size=int(3 + seed % 5))
    got = {k: batches(TokenIterableDataset(source, kernels=k, **options)) for k in KINDS}
    assert_same(got["numpy"], got["numba"])
    if spec is WIDE and not options["drop_last"]:  # ids past uint16 came through
        assert max(int(b["input_ids"].max()) for b in got["numba"]) >= 65536


def test_numba_resumes_where_numpy_does(tmp_path):
    items = random_items(NARROW, 10, seed=1, min_t=20, max_t=40)  # 61..121 tokens each
    options = dict(context_length=9, batch_size=2, seed=4)
    source = write_store(tmp_path / "tokens", NARROW, items)
    tails = {}
    for k in ("numpy", "numba"):
        ds = TokenIterableDataset(source, kernels=k, **options)
        it = iter(ds)
        for _ in range(3):
            next(it)
        state = ds.state_dict()
        assert state["positions"]["0"][1] > 0  # stopped inside a document
        again = TokenIterableDataset(source, kernels=k, **options)
        again.load_state_dict(state)
        tails[k] = [{n: t.numpy().copy() for n, t in b.items()} for b in StatefulLoader(again)]
    assert_same(tails["numpy"], tails["numba"])


@pytest.mark.parametrize("kernel_choice", ["numpy", "numba"])
def test_a_code_out_of_range_is_the_same_error(kernel_choice):
    codes = {"a": np.zeros((3, 5), np.int64), "b": np.full((3, 4), 7, np.int64)}
    codes["b"][1, 2] = 50  # codebook 1 has 50 entries: 0..49
    ds = TokenIterableDataset(
        InMemorySource(NARROW, codes), context_length=4, shuffle=False, kernels=kernel_choice
    )
    with pytest.raises(VocabError, match=r"code 50 or 7 is outside 0..49"):
        list(ds)


def test_the_kernels_choice():
    assert kernels.load("numpy") is None
    assert kernels.load("numba").__name__ == "audiotok.feed.numba_kernels"
    assert kernels.load("auto") is kernels.load("numba")  # numba is in the test extras
    with pytest.raises(AudiotokError, match="auto, numpy, numba"):
        TokenIterableDataset(InMemorySource(NARROW, {}), context_length=4, kernels="fast")


def test_without_numba_auto_is_numpy_and_numba_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a)
    )
    assert kernels.load("auto") is None
    with pytest.raises(AudiotokError, match=r"audiotok\[fast\]"):
        TokenIterableDataset(InMemorySource(NARROW, {}), context_length=4, kernels="numba")


def test_a_numba_that_does_not_import_is_numpy_under_auto(monkeypatch):
    real = importlib.import_module

    def broken(name, *a):
        if name == "audiotok.feed.numba_kernels":
            raise ImportError("Numba needs NumPy 2.5 or less")
        return real(name, *a)

    monkeypatch.setattr(kernels.importlib, "import_module", broken)
    assert kernels.load("auto") is None
    with pytest.raises(AudiotokError, match="does not import here .Numba needs NumPy"):
        kernels.load("numba")


def test_flatten_kernel_reports_the_first_bad_document():
    nk = kernels.load("numba")
    values = np.array([1, 2, 3, 4, -1, 5], np.int32)  # two documents of [2, 1] codes ...
    starts, frames = np.array([0, 2], np.int64), np.array([1, 1], np.int64)
    rows, offsets = np.array([0, 1], np.int64), np.array([0, 10], np.int32)
    out = np.zeros(6, np.int32)
    sizes = np.array([5, 5], np.int64)
    assert nk.flatten(values, starts, frames, np.array([0, 3]), 2, rows, offsets, sizes, out) == -1
    assert out.tolist() == [1, 12, 0, 3, 14, 0]
    values[4] = -1  # ... the second one's second row starts with a negative code
    starts = np.array([0, 3], np.int64)
    assert nk.flatten(values, starts, frames, np.array([0, 3]), 2, rows, offsets, sizes, out) == 1
    values[4] = 5  # == its row's size
    assert nk.flatten(values, starts, frames, np.array([0, 3]), 2, rows, offsets, sizes, out) == 1


def test_the_batch_tensors_are_int64_views_of_one_storage(tmp_path):
    spec, items, options = settings(2)
    ds = TokenIterableDataset(write_store(tmp_path / "t", spec, items), kernels="numba", **options)
    b = next(iter(ds))
    ptrs = {b[k].untyped_storage().data_ptr() for k in ("input_ids", "labels", "attention_mask")}
    assert len(ptrs) == 1 and b["input_ids"].dtype == torch.int64


def test_kernels_compile_where_no_cache_folder_is_writable(monkeypatch):
    """numba refuses ``cache=True`` when it finds no writable folder (a read-only install, no
    home): the kernels then compile in the process and give the same values."""
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl  # its name before 0.60
    monkeypatch.setattr(impl, "_locator_classes", [])
    path = Path(kernels.__file__).with_name("numba_kernels.py")
    spec = importlib.util.spec_from_file_location("numba_kernels_uncached", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.pack._cache.__class__.__name__ == "NullCache"  # not cached: compiled here
    buf = np.array([5, 6, 7, 8, 9], np.uint16)
    ends = np.array([2, 5], np.int64)  # documents [5, 6] and [7, 8, 9]
    got, want = np.empty((5, 4), np.int64), np.empty((5, 4), np.int64)
    module.pack(buf, ends, 0, 0, 4, 2, 0, got)
    kernels.load("numba").pack(buf, ends, 0, 0, 4, 2, 0, want)
    assert np.array_equal(got, want)
    assert got.tolist() == [[5, 6, 7, 8], [6, 7, 8, 9], [0, 0, 0, 0], [0, 1, 0, 1], [1] * 4]
