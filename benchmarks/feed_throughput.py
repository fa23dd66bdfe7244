"""Tokens per second delivered by the iterable dataset (pattern + packing) vs a hand-written
loop over ``pandas.read_parquet`` rows, on one CPU process, from a synthetic store.

    python benchmarks/feed_throughput.py [--tokens 10000000] [--codebooks 8] [--context 2048]

The store (written with the store writer into a temporary folder) holds ``--tokens`` codes:
utterances of 200..800 frames of K codebooks of 1024 entries (EnCodec-like at K = 8). Both
sides produce the same batches: frame-major flattening with per-codebook offsets, EOS after
each utterance, contexts of ``--context`` + 1 tokens (inputs and next-token labels) in
batches of ``--batch``, as int64 torch tensors. Ours also shuffles and returns doc_ids,
position_ids and the attention mask. One run each; the target is >= 5 M tokens/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from audiotok.spec import TokenSpec


def write_store(directory: Path, tokens: int, k: int, seed: int = 0) -> tuple[int, int]:
    import audiotok.store as store

    spec = TokenSpec("acoustic" if k > 1 else "semantic", f"synthetic-{k}x1024", 24000, 75.0,
                     k, 1024, semantic_codebooks=() if k > 1 else (0,))  # fmt: skip
    writer_cls = getattr(store, "StoreWriter", None) or store.TokenWriter
    w = writer_cls(directory, spec, shard_size=1000)
    rng = np.random.default_rng(seed)
    n = total = 0
    while total < tokens:
        t = int(rng.integers(200, 801))
        w.add(f"u{n:07d}", f"u{n:07d}.wav", t / 75.0, rng.integers(0, 1024, (k, t), np.uint16))
        n, total = n + 1, total + k * t
    w.close()
    return n, total


def ours(directory: Path, context: int, batch: int) -> tuple[int, float]:
    from audiotok.feed import TokenIterableDataset

    ds = TokenIterableDataset(
        str(directory), pattern="flatten", context_length=context, batch_size=batch, seed=0
    )
    start = time.perf_counter()
    delivered = 0
    for b in ds:
        delivered += int(b["attention_mask"].sum())
    return delivered, time.perf_counter() - start


def baseline(directory: Path, k: int, context: int, batch: int) -> tuple[int, float]:
    """What one writes by hand: read the Parquet rows with pandas, offset, flatten, EOS, pack."""
    import pandas as pd

    start = time.perf_counter()
    df = pd.read_parquet(directory, columns=["codes"])
    offsets = (np.arange(k, dtype=np.int64) * 1024)[:, None]
    eos = k * 1024 + 2
    need = batch * context + 1
    buf: list[np.ndarray] = []
    n = delivered = 0
    for cell in df["codes"]:
        codes = np.stack(cell) if k > 1 else np.asarray(cell)[None]
        ids = (codes.astype(np.int64) + offsets).T.reshape(-1)
        buf += [ids, np.array([eos])]
        n += len(ids) + 1
        while n >= need:
            flat = np.concatenate(buf)
            x, _y = (
                torch.from_numpy(flat[: batch * context].reshape(batch, context)),
                torch.from_numpy(flat[1:need].reshape(batch, context)),
            )
            delivered += x.numel()
            buf, n = [flat[batch * context :]], len(flat) - batch * context
    delivered += max(n - 1, 0)  # the tail, as ours pads it
    return delivered, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokens", type=int, default=10_000_000)
    ap.add_argument("--codebooks", type=int, default=8)
    ap.add_argument("--context", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: one CPU core)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "tokens"
        t0 = time.perf_counter()
        n, total = write_store(d, a.tokens, a.codebooks)
        size = sum(p.stat().st_size for p in d.iterdir()) / 2**20
        print(f"store: {n} utterances, {total / 1e6:.2f} M codes (K={a.codebooks}), "
              f"{size:.0f} MiB, written in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        got_b, sec_b = baseline(d, a.codebooks, a.context, a.batch)
        got_o, sec_o = ours(d, a.context, a.batch)
    rate_o, rate_b = got_o / sec_o, got_b / sec_b
    print(f"pandas.read_parquet loop : {got_b / 1e6:.2f} M tokens in {sec_b:.2f} s = "
          f"{rate_b / 1e6:.2f} M tokens/s")  # fmt: skip
    print(f"TokenIterableDataset     : {got_o / 1e6:.2f} M tokens in {sec_o:.2f} s = "
          f"{rate_o / 1e6:.2f} M tokens/s (flatten + packing, shuffled)")  # fmt: skip
    print(f"ratio {rate_o / rate_b:.2f}x; target 5 M tokens/s: "
          f"{'met' if rate_o >= 5e6 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
