"""Reading a token store: zero-copy [K, T'] iteration vs rows through ``to_pylist``.

    python benchmarks/store_read.py [--utterances 20000] [--frames 500] [--k 1 8]

Writes a synthetic store per K (random codes, uint16) in a temporary folder, then times, in
one run, with the same consumer (utterances packed 256 at a time into one array, as a data
loader does, so every code is read): (a) ``for id, codes in audiotok.open_tokens(dir)`` (the
flat memory-mapped copy), (b) an Arrow zero-copy Parquet reader, what a pyarrow user writes:
``pq.read_table`` per shard, the list offsets and values as numpy, a ``[K, T']`` view per row,
and (c) the old comparison, ``iter_batches`` + ``to_pylist`` + ``np.asarray`` per row. Also
times ``store.get`` on random ids (the index). Prints tokens/s (wall and per CPU-second of
this process) and the ratios; the headline is (a) vs (b).

Also the cost of verified reads (issue 25): a reader checks each shard against the commit
record on its first use in a process. The iteration is timed with that check (the process
forgets what it checked first) and once checked; both with a warm page cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import results

import audiotok
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter
from audiotok.store.verify import forget


def build(d: Path, k: int, n: int, frames: int) -> int:
    spec = TokenSpec("acoustic" if k > 1 else "semantic", "synthetic", 16000, 50.0, k, 1024)
    rng = np.random.default_rng(0)
    w = TokenWriter(d, spec, shard_size=5000)
    total = 0
    for i in range(n):
        t = int(frames * rng.uniform(0.5, 1.5))
        w.add(f"spk{i % 50}/u{i:07d}", f"u{i}.wav", t / 50, rng.integers(0, 1024, (k, t)))
        total += k * t
    w.close()
    return total


PACK = 256  # utterances per packed block: what a data loader does with what it reads


def read_new(d: Path) -> int:
    s, buf = 0, []
    for _, codes in audiotok.open_tokens(str(d)):
        buf.append(codes)
        if len(buf) == PACK:
            s += np.concatenate(buf, axis=1).size  # every code read once, into one block
            buf = []
    return s + (np.concatenate(buf, axis=1).size if buf else 0)


def read_rows(d: Path, k: int) -> int:
    s, buf = 0, []
    for path in audiotok.open_tokens(str(d)).shard_paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            for row in batch.to_pylist():
                buf.append(np.asarray(row["codes"], dtype=np.int64).reshape(k, -1))
                if len(buf) == PACK:
                    s += np.concatenate(buf, axis=1).size
                    buf = []
    return s + (np.concatenate(buf, axis=1).size if buf else 0)


def read_arrow(d: Path, k: int) -> int:
    s, buf = 0, []
    for path in audiotok.open_tokens(str(d)).shard_paths:
        col = pq.read_table(path, columns=["codes"]).column("codes").combine_chunks()
        if k == 1:
            off, values = col.offsets.to_numpy(), col.values.to_numpy()
            bounds = zip(off[:-1].tolist(), off[1:].tolist(), strict=True)
        else:
            outer, inner = col.offsets.to_numpy(), col.values.offsets.to_numpy()
            values = col.values.values.to_numpy()
            bounds = zip(inner[outer[:-1]].tolist(), inner[outer[1:]].tolist(), strict=True)
        for a, b in bounds:
            buf.append(values[a:b].reshape(k, -1))
            if len(buf) == PACK:
                s += np.concatenate(buf, axis=1).size
                buf = []
    return s + (np.concatenate(buf, axis=1).size if buf else 0)


def get_all(store, ids, pick) -> list:
    return [store.get(ids[i]) for i in pick]


def timed(fn, *args):
    """((wall seconds, CPU seconds of this process), result): CPU time is what a shared,
    loaded machine distorts least."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return (time.perf_counter() - w, time.process_time() - c), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--utterances", type=int, default=20000)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 8])
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.utterances, a.frames = 300, 100
    rows, heads = [], []
    for k in a.k:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp) / "store"
            total = build(d, k, a.utterances, a.frames)
            read_new(d)  # warm the page cache for both readers
            forget()
            (w_ver, c_ver), _ = timed(read_new, d)  # the first pass checks every shard
            (w_new, c_new), n_new = timed(read_new, d)  # checked already in this process
            (w_arr, c_arr), n_arr = timed(read_arrow, d, k)
            (w_old, c_old), n_old = timed(read_rows, d, k)
            assert n_new == n_arr == n_old == total
            store = audiotok.open_tokens(str(d))
            (w_idx, _), ids = timed(store.ids)
            pick = np.random.default_rng(1).choice(len(ids), 2000)
            (w_first, _), _ = timed(get_all, store, ids, pick)
            (w_get, _), _ = timed(get_all, store, ids, pick)
            print(
                f"K={k}: {a.utterances} utterances, {total / 1e6:.1f} M tokens\n"
                f"  iteration      {total / w_new / 1e6:7.1f} M tokens/s wall, "
                f"{total / c_new / 1e6:7.1f} per CPU-second\n"
                f"  Arrow zero-copy {total / w_arr / 1e6:6.1f} M tokens/s wall, "
                f"{total / c_arr / 1e6:7.1f} per CPU-second\n"
                f"  to_pylist rows {total / w_old / 1e6:7.2f} M tokens/s wall, "
                f"{total / c_old / 1e6:7.2f} per CPU-second\n"
                f"  ratio vs Arrow {w_arr / w_new:.1f}x wall, {c_arr / c_new:.1f}x CPU; "
                f"vs to_pylist {w_old / w_new:.1f}x wall, {c_old / c_new:.1f}x CPU\n"
                f"  verified first pass {total / w_ver / 1e6:7.1f} M tokens/s wall, "
                f"{total / c_ver / 1e6:7.1f} per CPU-second: +{(c_ver / c_new - 1) * 100:.0f}% "
                f"CPU over a checked store ({w_ver - w_new:.3f} s for {total / 1e6:.1f} M tokens)\n"
                f"  index of {len(ids)} ids built in {w_idx:.2f} s; get() on random ids "
                f"{w_first / len(pick) * 1e6:.0f} us each as shards open, then "
                f"{w_get / len(pick) * 1e6:.1f} us"
            )
            rows.append({"line": f"K={k}", "flat_Mtok_s": total / w_new / 1e6,
                         "arrow_Mtok_s": total / w_arr / 1e6,
                         "to_pylist_Mtok_s": total / w_old / 1e6,
                         "ratio_arrow": w_arr / w_new,
                         "ratio_to_pylist": w_old / w_new,
                         "verified_first_pass_Mtok_s": total / w_ver / 1e6,
                         "verify_cpu_overhead": c_ver / c_new - 1})  # fmt: skip
            heads.append(f"K={k} {w_arr / w_new:.1f}x ({total / w_new / 1e6:.0f} M tokens/s)")
    results.finish(
        a, "store_read.py", rows,
        "store read, flat memory-mapped vs Arrow zero-copy Parquet: " + ", ".join(heads),
        ratio=rows[-1]["ratio_arrow"],
    )  # fmt: skip


if __name__ == "__main__":
    main()
