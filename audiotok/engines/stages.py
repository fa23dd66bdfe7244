"""The stages a distributed engine runs, as plain functions on Arrow tables (no Ray here).

Three tables travel between stages (each row of the first two is one planned batch, cut by
:func:`audiotok.pipeline.plan.make_batches` exactly as the local engine cuts it):

- plan: ``batch`` int64, ``ids``/``paths``/``rels`` list<string>, ``num_samples`` list<int64>,
  ``exact`` list<bool>;
- decoded: the plan's columns plus ``waves`` list<large_binary> (float32 mono at the model's
  rate, null where the file failed) and ``reasons`` list<string> (null where it loaded);
- results: one row per file: ``id``, ``num_samples`` (decoded length, or the planned one for a
  failure), ``reason`` (null when it went through), ``data`` large_binary + ``shape`` +
  ``dtype`` (the batch function's array).

:func:`decode_table` is the CPU stage (the local engine's worker function ``load_batch``: no
torch). :class:`ModelStage` is the model stage: it builds the batch function from the recipe
in its own process and applies the local engine's per-batch policy (too-short files, the
model failing on one file) through :func:`audiotok.pipeline.local.process_batch`, so every reason
string is the local engine's. Every per-file step turns exceptions into reasons: a bad file is
an error row, never a failed block.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from audiotok.corpus import AudioItem
from audiotok.pipeline.load import Loaded, load_batch
from audiotok.pipeline.plan import Planned

_STR_LIST = pa.list_(pa.string())
PLAN_SCHEMA = pa.schema(
    [
        ("batch", pa.int64()),
        ("ids", _STR_LIST),
        ("paths", _STR_LIST),
        ("rels", _STR_LIST),
        ("num_samples", pa.list_(pa.int64())),
        ("exact", pa.list_(pa.bool_())),
    ]
)
DECODED_SCHEMA = PLAN_SCHEMA.append(pa.field("waves", pa.list_(pa.large_binary()))).append(
    pa.field("reasons", _STR_LIST)
)
RESULT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("num_samples", pa.int64()),
        ("reason", pa.string()),
        ("data", pa.large_binary()),
        ("shape", pa.list_(pa.int64())),
        ("dtype", pa.string()),
    ]
)
TARGETS = ("tokens", "features")


def _plan_columns(index: int, batch: Sequence[Planned]) -> dict[str, list[Any]]:
    return {
        "batch": [index],
        "ids": [[p.item.id for p in batch]],
        "paths": [[p.item.path for p in batch]],
        "rels": [[p.item.rel for p in batch]],
        "num_samples": [[int(p.num_samples) for p in batch]],
        "exact": [[bool(p.exact) for p in batch]],
    }


def plan_table(index: int, batch: Sequence[Planned]) -> pa.Table:
    """One planned batch as a one-row table (one block per batch: one unit of parallel work)."""
    return pa.table(_plan_columns(index, batch), schema=PLAN_SCHEMA)


def planned_of(table: pa.Table) -> list[tuple[int, list[Planned]]]:
    out = []
    for row in table.select(PLAN_SCHEMA.names).to_pylist():
        batch = [
            Planned(AudioItem(i, p, r), int(n), bool(e))
            for i, p, r, n, e in zip(
                row["ids"], row["paths"], row["rels"], row["num_samples"], row["exact"], strict=True
            )
        ]
        out.append((int(row["batch"]), batch))
    return out


def _load_safely(
    batch: list[Planned], sample_rate: int, max_duration: float | None
) -> list[Loaded]:
    try:  # load_one already turns a file's failure into its reason; this is the last resort
        return load_batch(batch, sample_rate, max_duration, None, None)
    except Exception:  # noqa: BLE001
        return [_load_one_safely(p, sample_rate, max_duration) for p in batch]


def _load_one_safely(p: Planned, sample_rate: int, max_duration: float | None) -> Loaded:
    try:
        return load_batch([p], sample_rate, max_duration, None, None)[0]
    except Exception as e:  # noqa: BLE001 - one bad file must not fail the block
        return Loaded(p, reason=f"unreadable ({type(e).__name__}: {e})")


def decode_table(table: pa.Table, sample_rate: int, max_duration: float | None) -> pa.Table:
    """The CPU stage: decode, downmix and resample each planned batch of ``table``.

    No spill files here: a long file travels through the object store, which spills to disk
    by itself, and a scratch file on one node would not be readable on another."""
    cols: dict[str, list[Any]] = {name: [] for name in DECODED_SCHEMA.names}
    for index, batch in planned_of(table):
        loaded = _load_safely(batch, sample_rate, max_duration)
        for k, v in _plan_columns(index, batch).items():
            cols[k].extend(v)
        cols["waves"].append(
            [None if ld.wave is None else np.ascontiguousarray(ld.wave, np.float32).tobytes()
             for ld in loaded]
        )  # fmt: skip
        cols["reasons"].append([ld.reason for ld in loaded])
    return pa.table(cols, schema=DECODED_SCHEMA)


def _arrays(values: pa.Array, dtype: Any) -> Iterator[np.ndarray | None]:
    """Each binary value as a fresh numpy array (one copy, out of the block)."""
    for v in values:
        buf = v.as_buffer()
        yield None if buf is None else np.frombuffer(buf, dtype=dtype).copy()


def loaded_of(table: pa.Table) -> list[list[Loaded]]:
    """The decoded batches of ``table`` (waves copied out of the block: the model may write)."""
    out = []
    batches = planned_of(table)
    reasons = table.column("reasons").to_pylist()
    waves = _arrays(table.column("waves").combine_chunks().flatten(), np.float32)
    for (_, batch), rs in zip(batches, reasons, strict=True):
        lds = []
        for p, r in zip(batch, rs, strict=True):
            w = next(waves)
            if r is not None or w is None:
                lds.append(Loaded(p, reason=r or "no audio decoded"))
            else:
                lds.append(Loaded(p, wave=w))
        out.append(lds)
    return out


@dataclass
class Result:
    id: str
    num_samples: int
    array: np.ndarray | None = None
    reason: str | None = None


def result_table(results: Sequence[Result]) -> pa.Table:
    arrays = [r.array for r in results]
    return pa.table(
        {
            "id": [r.id for r in results],
            "num_samples": [int(r.num_samples) for r in results],
            "reason": [r.reason for r in results],
            "data": [None if a is None else a.tobytes() for a in arrays],
            "shape": [None if a is None else list(a.shape) for a in arrays],
            "dtype": [None if a is None else a.dtype.str for a in arrays],
        },
        schema=RESULT_SCHEMA,
    )


def results_of(table: pa.Table) -> Iterator[Result]:
    """The rows of a result table; arrays are copies (a writer may keep rows until its shard
    is full, and a view would pin the engine's block in the object store that long)."""
    cols = table.select(["id", "num_samples", "reason", "shape", "dtype"]).to_pydict()
    data = (v.as_buffer() for chunk in table.column("data").chunks for v in chunk)
    for i, n, reason, shape, dtype, buf in zip(
        cols["id"], cols["num_samples"], cols["reason"], cols["shape"], cols["dtype"], data,
        strict=True,
    ):  # fmt: skip
        if reason is not None or buf is None:
            yield Result(i, int(n), reason=reason or "no output")
            continue
        arr = np.frombuffer(buf, dtype=np.dtype(dtype)).reshape(shape).copy()
        yield Result(i, int(n), array=arr)


class ModelStage:
    """The model stage: ``__call__(decoded table) -> result table``, one per process.

    ``target``: ``tokens`` (``TokenBatchFn``: codes ``[K, T']`` int64) or ``features``
    (``FeatureBatchFn``: ``[L, T', D]``, sent as float16, which is what the feature store
    keeps). With ``decode`` the stage also decodes (no separate CPU stage)."""

    def __init__(
        self,
        target: str,
        recipe: dict[str, Any],
        device: str = "cpu",
        threads: int | None = None,
        decode: bool = False,
        sample_rate: int = 0,
        max_duration: float | None = None,
    ):
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        import torch

        from audiotok.pipeline.batch import FeatureBatchFn, TokenBatchFn
        from audiotok.recipe import recipe_from_dict

        if threads:
            torch.set_num_threads(threads)
        cls = TokenBatchFn if target == "tokens" else FeatureBatchFn
        self.fn: Any = cls.from_recipe(recipe_from_dict(recipe), device)
        self.target = target
        self.decode = decode
        self.max_duration = max_duration
        if sample_rate and sample_rate != self.fn.sample_rate:
            raise ValueError(
                f"the model built from the recipe runs at {self.fn.sample_rate} Hz, the plan "
                f"at {sample_rate} Hz"
            )

    def __call__(self, table: pa.Table) -> pa.Table:
        if self.decode:
            table = decode_table(table, self.fn.sample_rate, self.max_duration)
        results: list[Result] = []
        for batch in loaded_of(table):
            results.extend(self.run_batch(batch))
        return result_table(results)

    def run_batch(self, batch: list[Loaded]) -> list[Result]:
        """The local engine's per-batch policy; failures become reasons."""
        from audiotok.pipeline.local import Events, process_batch

        out: list[Result] = []

        def fail(item: AudioItem, reason: str) -> None:
            n = next(ld.planned.num_samples for ld in batch if ld.planned.item is item)
            out.append(Result(item.id, n, reason=reason))

        for item, n, arr in process_batch(batch, self.fn, fail, Events()):
            if self.target == "features":
                arr = np.ascontiguousarray(arr, dtype=np.float16)
            out.append(Result(item.id, n, array=np.ascontiguousarray(arr)))
        return out
