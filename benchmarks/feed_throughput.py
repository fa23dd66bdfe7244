"""Tokens per second delivered by the LM feed (``TokenIterableDataset``) vs an Arrow-based
loop written by hand that produces the same batches, on one synthetic store.

    python benchmarks/feed_throughput.py [--tokens 50000000] [--codebooks 8] [--context 2048]
    python benchmarks/feed_throughput.py --smoke --json feed.json

The store (written with the store writer into a temporary folder) holds ``--tokens`` codes:
utterances of 200..800 frames of K codebooks of 1024 entries (EnCodec-like at K = 8).

Lines, each a full pass over the store, timed from opening the store (index and block sizes
are built inside the timing on both sides):

- ``flatten, packed (numpy)`` and ``(numba)``: frame-major flattening with per-codebook
  offsets, EOS after each utterance, contexts of ``--context`` tokens (+ the next-token
  labels) in batches of ``--batch``, with doc_ids, position_ids and attention_mask (int64
  tensors), its token work done by numpy or by the compiled kernels (``kernels=``; the
  ``fast`` extra; the numba line is left out, saying so, where numba is missing). Ours reads
  the store's flat memory-mapped codes shard by shard and shuffles; the baseline reads each
  Parquet shard with pyarrow (list offsets and values as numpy, zero copy), then per
  utterance offsets, transposes, appends EOS, document ids and positions, and cuts contexts
  from the stream. Before timing, ours without shuffling is checked, with each kernel, to
  give exactly the baseline's batches (the numba check pass also compiles the kernels, or
  loads them from numba's on-disk cache: its time is printed, and not in any line).
- ``delay, padded``: MusicGen's delay layout, ``--batch`` utterances padded to the longest;
  the baseline builds the same layout per utterance from the Arrow buffers (packing is for
  flat patterns only; rows are padded). Ours writes each row once into the batch.
- ``reads + writes alone``: what every implementation must read and write, and nothing
  between: the store's flat codes read once and each packed batch's five int64 arrays
  allocated and filled with constants; its ratio to the Arrow loop shows how much of the 5x
  budget those bytes take on this machine, and what is left for transposing and packing.
- ``feed machinery alone``: the feed itself (``flatten, packed``, one process) with its token
  work replaced by constants: the block encoder returns an unwritten buffer of the right
  length and the packer fills each batch's five arrays with constants; the order, the block
  reads, the stream's bookkeeping, the batch tensors and resume stamps stay the feed's own.
  Its ratio to the Arrow loop bounds what faster token work (compiled kernels) could reach
  without also changing the per-batch machinery.
- ``<pattern>, N workers``: the feed through ``StatefulLoader`` with 1 and 2 DataLoader
  worker processes (worker start-up counted; "after the first batch" leaves it out), both
  patterns, the dataset's default kernels (``auto``). Workers hand batches over through
  reused shared-memory slots, several batches per message (``audiotok.feed.transport``).

Both sides are timed from opening the store; neither builds an id index (ours takes the block
sizes from the manifest, the loop lists the shard files). The store's shard checks (crc32,
once per process) are paid before timing, by the check pass.

Prints tokens/s for each line, per wall second and per CPU-second of the process and its
workers (what a loaded, shared machine distorts least); the last line is the headline: ours
vs the Arrow loop, flatten + packing, one process, with the dataset's default kernels (numba
where installed; targets: >= 50 M tokens/s and >= 5x the loop).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import results
import torch

from audiotok.feed import kernels
from audiotok.spec import TokenSpec


def write_store(directory: Path, tokens: int, k: int, seed: int = 0) -> tuple[int, int]:
    import audiotok.store as store

    spec = TokenSpec("acoustic" if k > 1 else "semantic", f"synthetic-{k}x1024", 24000, 75.0,
                     k, 1024, semantic_codebooks=() if k > 1 else (0,))  # fmt: skip
    w = store.TokenWriter(directory, spec, shard_size=1000)
    rng = np.random.default_rng(seed)
    n = total = 0
    while total < tokens:
        t = int(rng.integers(200, 801))
        w.add(f"u{n:07d}", f"u{n:07d}.wav", t / 75.0, rng.integers(0, 1024, (k, t), np.uint16))
        n, total = n + 1, total + k * t
    w.close()
    return n, total


# --- ours -----------------------------------------------------------------------------------
def feed(directory: Path, pattern: str, context: int | None, batch: int, shuffle: bool = True,
         kernels: str = "auto"):  # fmt: skip
    from audiotok.feed import TokenIterableDataset

    return TokenIterableDataset(
        str(directory), pattern=pattern, context_length=context, batch_size=batch,
        seed=0, shuffle=shuffle, kernels=kernels,
    )  # fmt: skip


def delivered(b: dict[str, Any]) -> int:
    """Codes delivered by a batch: real positions (x rows for row layouts)."""
    x = b["input_ids"]
    return int(b["attention_mask"].sum()) * (x.shape[1] if x.ndim == 3 else 1)


def clocks() -> tuple[float, float]:
    """(wall, CPU seconds of this process and its finished children: DataLoader workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + kids.ru_utime + kids.ru_stime


def since(t0: tuple[float, float]) -> tuple[float, float]:
    t1 = clocks()
    return t1[0] - t0[0], t1[1] - t0[1]


def time_ours(directory: Path, pattern: str, context: int | None, batch: int,
              workers: int = 0, kernels: str = "auto") -> tuple[int, float, float]:  # fmt: skip
    from audiotok.feed import StatefulLoader

    t0 = clocks()
    ds = feed(directory, pattern, context, batch, kernels=kernels)
    it = iter(StatefulLoader(ds, num_workers=workers) if workers else ds)
    first = delivered(next(it))
    t1 = time.perf_counter()
    n = sum(delivered(b) for b in it)
    STEADY.append((n / (time.perf_counter() - t1)) if n else float("nan"))
    return (first + n, *since(t0))


STEADY: list[float] = []  # tokens/s after the first batch (workers started), per call


# --- the hand-written Arrow loop ------------------------------------------------------------
def arrow_codes(directory: Path, k: int) -> Iterator[np.ndarray]:
    """Each utterance's [K, T] codes, from the Parquet shards through Arrow buffers."""
    import pyarrow.parquet as pq

    for path in sorted(directory.glob("shard-*.parquet")):
        col = pq.read_table(path, columns=["codes"]).column("codes").combine_chunks()
        outer = col.offsets.to_numpy()
        inner = col.values.offsets.to_numpy()
        values = col.values.values.to_numpy()
        for i in range(len(col)):
            a, b = inner[outer[i]], inner[outer[i + 1]]
            yield values[a:b].reshape(k, -1)


def arrow_packed(directory: Path, k: int, vocab: Any, context: int,
                 batch: int) -> Iterator[dict[str, torch.Tensor]]:  # fmt: skip
    offsets = np.array([s.offset for s in vocab.streams], dtype=np.int64)[:, None]
    eos, pad = vocab.special("eos"), vocab.special("pad")
    need, take = batch * context + 1, batch * context
    toks: list[np.ndarray] = []
    docs: list[np.ndarray] = []
    pos: list[np.ndarray] = []
    n = doc = 0

    def cut(t: np.ndarray, d: np.ndarray, p: np.ndarray, rows: int, real: int):
        x = np.full(rows * context, pad, np.int64)
        y = np.full(rows * context, -100, np.int64)
        dd = np.full(rows * context, -1, np.int64)
        pp = np.zeros(rows * context, np.int64)
        x[:real], y[:real], dd[:real], pp[:real] = t[:real], t[1 : real + 1], d[:real], p[:real]
        dd = dd.reshape(rows, context)
        dd = np.where(dd >= 0, dd - dd[:, :1], -1)
        return {
            "input_ids": torch.from_numpy(x.reshape(rows, context)),
            "labels": torch.from_numpy(y.reshape(rows, context)),
            "doc_ids": torch.from_numpy(dd),
            "position_ids": torch.from_numpy(pp.reshape(rows, context)),
            "attention_mask": torch.from_numpy((dd >= 0).astype(np.int64)),
        }

    for codes in arrow_codes(directory, k):
        ids = np.empty(codes.size + 1, np.int64)
        ids[:-1] = (codes + offsets).T.reshape(-1)
        ids[-1] = eos
        toks.append(ids)
        docs.append(np.full(len(ids), doc, np.int64))
        pos.append(np.arange(len(ids), dtype=np.int64))
        n, doc = n + len(ids), doc + 1
        if n >= need:
            t, d, p = np.concatenate(toks), np.concatenate(docs), np.concatenate(pos)
            while len(t) >= need:
                yield cut(t, d, p, batch, take)
                t, d, p = t[take:], d[take:], p[take:]
            toks, docs, pos, n = [t], [d], [p], len(t)
    t, d, p = np.concatenate(toks), np.concatenate(docs), np.concatenate(pos)
    while len(t) >= 2:
        rows = min(batch, -(-(len(t) - 1) // context))
        real = min(rows * context, len(t) - 1)
        yield cut(t, d, p, rows, real)
        t, d, p = t[rows * context :], d[rows * context :], p[rows * context :]


def arrow_delay(directory: Path, k: int, vocab: Any, batch: int) -> Iterator[dict[str, Any]]:
    offsets = np.array([s.offset for s in vocab.streams], dtype=np.int64)[:, None]
    delays = [s.delay for s in vocab.streams]
    eos, pad, empty = vocab.special("eos"), vocab.special("pad"), vocab.special("empty")
    pending: list[np.ndarray] = []

    def collate(seqs: list[np.ndarray]) -> dict[str, Any]:
        longest = max(s.shape[1] for s in seqs)
        x = np.full((len(seqs), k, longest), pad, np.int64)
        mask = np.zeros((len(seqs), longest), np.int64)
        for i, s in enumerate(seqs):
            x[i, :, : s.shape[1]], mask[i, : s.shape[1]] = s, 1
        return {"input_ids": torch.from_numpy(x), "attention_mask": torch.from_numpy(mask)}

    for codes in arrow_codes(directory, k):
        t = codes.shape[1]
        seq = np.full((k, 2 + t + max(delays)), empty, np.int64)
        for r in range(k):
            seq[r, 1 + delays[r] : 1 + delays[r] + t] = codes[r] + offsets[r]
        seq[:, -1] = eos
        pending.append(seq)
        if len(pending) == batch:
            yield collate(pending)
            pending = []
    if pending:
        yield collate(pending)


def time_floor(directory: Path, tokens: int, context: int, batch: int) -> tuple[int, float, float]:
    """The bytes every implementation reads and writes, without the work between them: each
    block's flat codes read once through the store's reader (a max over them) and, for each
    packed batch of ``tokens`` (codes + one EOS per utterance), its five int64 arrays
    allocated and filled with constants."""
    from audiotok.feed.source import BlockReader, as_source

    t0 = clocks()
    reader = BlockReader(as_source(str(directory)))
    for i in range(len(reader)):
        int(reader.read(i).values.max())
    per = batch * context
    for _ in range(-(-tokens // per)):
        # allocated as the feed allocates its in-process batches (numpy's memory, wrapped)
        storage = torch.from_numpy(np.empty((5, batch, context), np.int64))
        x, labels, doc_ids, pos, mask = storage.numpy().reshape(5, -1)
        x.fill(1), labels.fill(1), doc_ids.fill(0), pos.fill(0), mask.fill(1)
    return (tokens, *since(t0))


@contextlib.contextmanager
def machinery_only() -> Iterator[None]:
    """The feed with its token work replaced by constants (see the module docstring)."""
    from audiotok.feed import encoder, packer

    encode, emit = encoder.FeedEncoder.encode_block, packer.Packer.emit

    def encode_block(self: Any, block: Any, docs: np.ndarray, kernels: Any = None,
                     lead: int = 0) -> Any:  # fmt: skip
        lengths = block.lengths[docs] * len(self.rows) + 1  # + EOS, as the feed's lengths
        return np.empty(lead + int(lengths.sum()), self.vocab.np_dtype), lengths

    def fill(self: Any, contexts: int) -> tuple[dict[str, Any], tuple[int, int]]:
        storage = self.empty((5, contexts, self.length))
        x, labels, doc_ids, pos, mask = storage.numpy().reshape(5, -1)
        x.fill(1), labels.fill(1), doc_ids.fill(0), pos.fill(0), mask.fill(1)
        self.cursor = min(self.cursor + contexts * self.length, len(self.buf))
        return dict(zip(packer.KEYS, storage.unbind(0), strict=True)), self.where()

    encoder.FeedEncoder.encode_block, packer.Packer.emit = encode_block, fill
    try:
        yield
    finally:
        encoder.FeedEncoder.encode_block, packer.Packer.emit = encode, emit


def time_machinery(directory: Path, context: int, batch: int) -> tuple[int, float, float]:
    with machinery_only():
        return time_ours(directory, "flatten", context, batch)


def time_loop(make: Any) -> tuple[int, float, float]:
    t0 = clocks()
    n = sum(delivered(b) for b in make())
    return (n, *since(t0))


def check_same(ours: Any, theirs: Any) -> int:
    """Every batch of ours (unshuffled) equals the loop's: same keys' tensors, same count."""
    n = 0
    for a, b in zip(ours, theirs, strict=True):
        for key in b:
            if not torch.equal(a[key], b[key]):
                raise SystemExit(f"batch {n}: {key} differs from the Arrow loop's")
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokens", type=int, default=50_000_000)
    ap.add_argument("--codebooks", type=int, default=8)
    ap.add_argument("--context", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="passes per line (median reported)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: one CPU core)")
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.tokens, a.repeats = 300_000, 1
    torch.set_num_threads(a.threads)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "tokens"
        t0 = time.perf_counter()
        n, total = write_store(d, a.tokens, a.codebooks)
        size = sum(p.stat().st_size for p in d.rglob("*") if p.is_file()) / 2**20
        print(f"store: {n} utterances, {total / 1e6:.2f} M codes (K={a.codebooks}), "
              f"{size:.0f} MiB, written in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        k = a.codebooks
        flat_vocab = feed(d, "flatten", a.context, a.batch).encoder.vocab
        delay_vocab = feed(d, "delay", None, a.batch).encoder.vocab
        compiled = kernels.check("auto")
        if not compiled:
            print("kernels: numba is not installed (pip install 'audiotok[fast]'): the numpy "
                  "line alone, and it is the headline")  # fmt: skip
        for kern in ("numpy", "numba") if compiled else ("numpy",):
            t0 = time.perf_counter()
            same = check_same(
                feed(d, "flatten", a.context, a.batch, shuffle=False, kernels=kern),
                arrow_packed(d, k, flat_vocab, a.context, a.batch),
            )
            if kern == "numba":
                took = time.perf_counter() - t0
                print(f"check pass with the numba kernels: {took:.1f} s (compiling them or "
                      "loading numba's cache included; not timed below)")  # fmt: skip
        same_rows = check_same(
            feed(d, "delay", None, a.batch, shuffle=False),
            arrow_delay(d, k, delay_vocab, a.batch),
        )
        print(f"check: {same} packed and {same_rows} delay batches of the unshuffled feed equal "
              "the Arrow loop's")  # fmt: skip

        def line(name: str, ours_fn: Any, base_fn: Any | None) -> dict[str, Any]:
            o_rates, b_rates, o_cpu, b_cpu = [], [], [], []
            STEADY.clear()
            for _ in range(a.repeats):  # alternate the two sides
                if base_fn is not None:
                    got, sec, cpu = time_loop(base_fn)
                    b_rates.append(got / sec)
                    b_cpu.append(got / cpu)
                got, sec, cpu = ours_fn()
                o_rates.append(got / sec)
                o_cpu.append(got / cpu)
            o = statistics.median(o_rates)
            b = statistics.median(b_rates) if b_rates else None
            oc = statistics.median(o_cpu)
            bc = statistics.median(b_cpu) if b_cpu else None
            row = {"line": name, "ours_Mtok_s": o / 1e6, "ours_spread": _spread(o_rates),
                   "baseline_Mtok_s": b / 1e6 if b else None,
                   "ratio": o / b if b else None,
                   "ours_Mtok_per_cpu_s": oc / 1e6,
                   "baseline_Mtok_per_cpu_s": bc / 1e6 if bc else None,
                   "ours_after_first_batch_Mtok_s": statistics.median(STEADY) / 1e6}  # fmt: skip
            print(
                f"{name:32s} ours {o / 1e6:8.1f} M tokens/s {row['ours_spread']}"
                + (f" | Arrow loop {b / 1e6:7.1f} M tokens/s | {o / b:.2f}x" if b else "")
                + f"\n{'':32s} per CPU-second: ours {oc / 1e6:.1f} M"
                + (
                    f", Arrow loop {bc / 1e6:.1f} M ({oc / bc:.2f}x)"
                    if bc
                    else f"; after the first batch {row['ours_after_first_batch_Mtok_s']:.1f} M/s"
                )
            )
            rows.append(row)
            return row

        for kern in ("numpy", "numba") if compiled else ("numpy",):
            head = line(
                f"flatten, packed ({kern})",
                lambda kern=kern: time_ours(d, "flatten", a.context, a.batch, kernels=kern),
                lambda: arrow_packed(d, k, flat_vocab, a.context, a.batch),
            )
        line(
            "delay, padded",
            lambda: time_ours(d, "delay", None, a.batch),
            lambda: arrow_delay(d, k, delay_vocab, a.batch),
        )
        # how much of the 5x budget the unavoidable reads and writes take on this machine
        floor = [time_floor(d, total + n, a.context, a.batch) for _ in range(a.repeats)]
        floor_rate = statistics.median(n / sec for n, sec, _ in floor)
        base_rate = head["baseline_Mtok_s"] * 1e6
        print(f"{'reads + writes alone':32s} {floor_rate / 1e6:8.1f} M tokens/s = "
              f"{floor_rate / base_rate:.2f}x the Arrow loop (codes read once, each batch's five "
              f"arrays filled with constants: no transposing, no packing)")  # fmt: skip
        rows.append({"line": "reads + writes alone", "ours_Mtok_s": floor_rate / 1e6,
                     "ratio": floor_rate / base_rate})  # fmt: skip
        # ... and the feed's own per-batch machinery with them (no token work)
        machinery = [time_machinery(d, a.context, a.batch) for _ in range(a.repeats)]
        machinery_rate = statistics.median(n / sec for n, sec, _ in machinery)
        # its cost per batch beyond the reads and writes (tokens of a full batch)
        per_batch = (1 / machinery_rate - 1 / floor_rate) * a.batch * a.context
        print(f"{'feed machinery alone':32s} {machinery_rate / 1e6:8.1f} M tokens/s = "
              f"{machinery_rate / base_rate:.2f}x the Arrow loop (the feed with its token work "
              "replaced by constant fills: the most faster kernels alone could give; "
              f"{per_batch * 1e6:.0f} us per batch beyond the reads + writes)")  # fmt: skip
        rows.append({"line": "feed machinery alone", "ours_Mtok_s": machinery_rate / 1e6,
                     "ratio": machinery_rate / base_rate,
                     "us_per_batch_beyond_reads_writes": per_batch * 1e6})  # fmt: skip
        workers: dict[int, float] = {}
        for pattern, context, name in (("flatten", a.context, "flatten, packed"),
                                       ("delay", None, "delay, padded")):  # fmt: skip
            for w in (1, 2):
                row = line(
                    f"{name}, {w} worker{'s' if w > 1 else ''}",
                    lambda w=w, p=pattern, c=context: time_ours(d, p, c, a.batch, workers=w),
                    None,
                )
                if pattern == "flatten":
                    workers[w] = row["ours_Mtok_s"]
        print(f"{'':32s} 2 workers / 1 worker: {workers[2] / workers[1]:.2f}x "
              f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")  # fmt: skip
    rate, ratio, cpu_rate = head["ours_Mtok_s"], head["ratio"], head["ours_Mtok_per_cpu_s"]
    met = rate >= 50 and ratio >= 5
    results.finish(
        a, "feed_throughput.py", rows,
        f"feed ({'numba' if compiled else 'numpy'}; flatten + packing to {a.context} in batches "
        f"of {a.batch}, K={k}): {rate:.1f} M tokens/s wall "
        f"({cpu_rate:.1f} M per CPU-second), {ratio:.2f}x the Arrow loop; DataLoader 1/2 "
        f"workers {workers[1]:.1f}/{workers[2]:.1f} M tokens/s (targets >= 50 M tokens/s and "
        f">= 5x: {'met' if met else 'NOT met'}); reads + writes alone "
        f"{floor_rate / base_rate:.2f}x the loop, feed machinery alone "
        f"{machinery_rate / base_rate:.2f}x",
        ratio=ratio, target=">= 50 M tokens/s and >= 5x", met=met,
    )  # fmt: skip


def _spread(rates: list[float]) -> str:
    return f"[{min(rates) / 1e6:.1f}-{max(rates) / 1e6:.1f}]" if len(rates) > 1 else ""


if __name__ == "__main__":
    main()
