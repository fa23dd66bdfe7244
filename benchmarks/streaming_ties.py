"""How often do streamed codes differ from offline codes? (issue 24; docs/streaming.md)

Tiny random-weight EnCodec 24 kHz and Mimi (the test models: their codebooks are unusually
tie-prone), ``--files`` speech-like files of 1 s, each pushed in random chunks of 1-4000
samples; prints the frames whose codes differ from the offline ``encode`` of the same file
(the last line is the headline). With nearest entries in float64, a difference can only come
from the ~1e-7 rounding of the convolutions on other lengths meeting a tie that close.

    python benchmarks/streaming_ties.py [--files 12]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "streaming"))

import results  # noqa: E402

from stream_tiny import build, chunked, wav  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=12)
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.files = min(a.files, 2)
    torch.set_num_threads(1)
    lines, rows = [], []
    for name in ("encodec-24khz", "mimi"):
        tok = build(name)
        enc = tok.streaming_encoder()
        g = torch.Generator().manual_seed(1)
        bad = total = 0
        for seed in range(a.files):
            x = wav(1.0, seed=seed)
            sizes = torch.randint(1, 4000, (40,), generator=g).tolist()
            got = torch.cat([enc.push(p) for p in chunked(x, sizes)] + [enc.flush()], -1)
            differ = (got != tok.encode(x, 24000)).any(0)
            bad, total = bad + int(differ.sum()), total + differ.numel()
            if differ.any():
                print(f"{name} file {seed}: frames {differ.nonzero().flatten().tolist()} differ")
        lines.append(f"{name}: {bad} of {total} frames differ")
        rows.append({"model": name, "frames_differ": bad, "frames": total})
    results.finish(a, "streaming_ties.py", rows, "; ".join(lines))


if __name__ == "__main__":
    main()
