"""The feed's batches, recorded from the implementation before its vectorised rewrite (issue
#21): every configuration below must keep giving byte-identical batches (values, dtypes,
shapes, ids, resume positions). The digests in ``data/feed_golden.json`` were written by
``python tests/feed/test_feed_golden.py --record`` on the per-document implementation; a
change of output is a change of behaviour, not a refactor.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from feed_helpers import ACU, SEM, random_items, write_store  # noqa: E402

from audiotok.feed.iterable import StatefulLoader, TokenIterableDataset  # noqa: E402
from audiotok.feed.source import InMemorySource  # noqa: E402

GOLDEN = Path(__file__).parent / "data" / "feed_golden.json"


def digest(batch: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for key in sorted(batch):
        v = batch[key]
        h.update(key.encode())
        if isinstance(v, torch.Tensor):
            a = v.numpy()
            h.update(f"{a.dtype}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
        else:
            h.update(repr(v).encode())
    return h.hexdigest()[:16]


def stores(root: Path) -> dict[str, Any]:
    acu = random_items(ACU, 23, seed=3, max_t=30)  # some documents have 0 frames
    sem = random_items(SEM, 19, seed=4, max_t=25)
    for i, k in enumerate(list(sem)[:10]):  # runs for dedup
        sem[k] = np.repeat(sem[k], 1 + i % 3, axis=1)
    return {
        "acu": write_store(root / "acu", ACU, acu, shard_size=5),
        "sem": write_store(root / "sem", SEM, sem, shard_size=4),
        "mem": InMemorySource(ACU, acu, block_size=6),
        "acu_ids": sorted(acu)[::2],
    }


# name -> (source key, dataset options, how to iterate)
CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "flatten_packed": ("acu", dict(context_length=16, batch_size=3, seed=7), "plain"),
    "flatten_packed_bos_markers_drop": (
        "acu",
        dict(context_length=11, batch_size=2, seed=1, bos=True, markers=True, drop_last=True),
        "plain",
    ),
    "flatten_packed_noshuffle_ctx1": (
        "acu",
        dict(context_length=1, batch_size=4, shuffle=False),
        "plain",
    ),
    "flatten_packed_long_ctx": ("acu", dict(context_length=300, batch_size=2, seed=3), "plain"),
    "flatten_packed_epoch2": ("acu", dict(context_length=9, batch_size=3, seed=7), "epoch2"),
    "flatten_packed_rank1of2": (
        "acu",
        dict(context_length=13, batch_size=2, seed=5, rank=1, world_size=2),
        "plain",
    ),
    "flatten_packed_2workers": ("acu", dict(context_length=10, batch_size=3, seed=2), "workers2"),
    "flatten_packed_resume": ("acu", dict(context_length=7, batch_size=2, seed=6), "resume"),
    "flatten_packed_subset": ("acu", dict(context_length=12, batch_size=2, seed=8), "subset"),
    "flatten_packed_memory": ("mem", dict(context_length=16, batch_size=3, seed=7), "plain"),
    "sem_dedup_packed": ("sem", dict(context_length=8, batch_size=3, seed=9, dedup=True), "plain"),
    "sem_flatten_packed": ("sem", dict(context_length=6, batch_size=5, seed=9), "plain"),
    "flatten_padded": ("acu", dict(batch_size=4, seed=7), "plain"),
    "delay_padded": ("acu", dict(pattern="delay", batch_size=4, seed=7), "plain"),
    "delay_padded_bos_drop": (
        "acu",
        dict(pattern="delay", batch_size=5, seed=2, bos=True, drop_last=True),
        "plain",
    ),
    "parallel_padded": ("acu", dict(pattern="parallel", batch_size=3, seed=1), "plain"),
    "valle_padded": ("acu", dict(pattern="valle", batch_size=4, seed=4), "plain"),
    "sem_dedup_padded": ("sem", dict(batch_size=3, seed=9, dedup=True), "plain"),
}


def run_case(src: dict[str, Any], name: str, kernels: str = "auto") -> list[str]:
    key, options, how = CASES[name]
    options = dict(options, kernels=kernels)
    if how == "subset":
        options = dict(options, ids=src["acu_ids"])

    def make() -> TokenIterableDataset:
        return TokenIterableDataset(src[key], **options)

    ds = make()
    if how == "epoch2":
        ds.set_epoch(2)
    if how == "workers2":
        return [digest(b) for b in torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)]
    if how == "resume":
        it = iter(ds)
        head = [digest(next(it)) for _ in range(3)]
        ds2 = make()
        ds2.load_state_dict(ds.state_dict())
        tail = [digest(b) for b in StatefulLoader(ds2, num_workers=0)]
        return head + ["resume"] + tail
    return [digest(b) for b in ds]


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Any]:
    return stores(tmp_path_factory.mktemp("golden"))


# packed batches with either kernels (numba is in the test extras); padded ones use neither
RUNS = [(n, k) for n in sorted(CASES) for k in (("numpy", "numba") if "packed" in n else ("auto",))]


@pytest.mark.parametrize(("name", "kernels"), RUNS)
def test_batches_equal_the_recorded_ones(sources, name, kernels):
    recorded = json.loads(GOLDEN.read_text())[name]
    got = run_case(sources, name, kernels)
    assert len(got) == len(recorded) and len(got) > 1
    assert got == recorded


if __name__ == "__main__" and "--record" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = stores(Path(tmp))
        out = {name: run_case(src, name) for name in sorted(CASES)}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(out, indent=1) + "\n")
    print({k: len(v) for k, v in out.items()})
