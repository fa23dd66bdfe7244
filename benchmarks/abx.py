"""ABX error rates: audiotok (batched torch DTW) vs the libri-light reference
(``zerospeech-libriabx2``, Cython DTW per pair), same features, same item file, one run.

Synthetic corpus shaped like a LibriSpeech ABX set: speakers x utterances of phones drawn
from a phone set, 3-12 frames each at 100 frames/s, features = phone prototype + speaker
offset + noise (``--dim``, ``--noise``: errors of 10-20 %), saved as ``<id>.npy`` with
an ``.item`` file of every triphone.
Both compute all four conditions (triphone/phoneme x within/across speaker) with their
defaults (``max_size_group`` 10, ``max_x_across`` 5, their own random draws, so the scores
agree within sampling noise; ``tests/metrics/test_abx_parity.py`` proves equality without
draws). Times include reading the ``.npy`` files. The last line is the headline ratio.

    python benchmarks/abx.py                  # default size
    python benchmarks/abx.py --smoke          # toy size (seconds)
    python benchmarks/abx.py --json out.json
    python benchmarks/abx.py --threads 1   # both single-threaded (a shared machine)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import results


def make_corpus(
    folder: Path, speakers: int, utts: int, phones: int, length: int, dim: int, noise: float
) -> Path:
    from audiotok.metrics.abx_items import Item, write_item_file

    rng = np.random.default_rng(0)
    names = [f"p{i}" for i in range(phones)]
    proto = rng.normal(size=(phones, dim))
    items = []
    for s in range(speakers):
        shift = 0.6 * rng.normal(size=dim)
        for u in range(utts):
            uid, t, chunks, segs = f"{s}-{u}", 0, [], []
            for p in rng.integers(0, phones, size=length):
                n = int(rng.integers(3, 13))
                segs.append((t / 100, (t + n) / 100, names[p]))
                chunks.append(proto[p] + shift + noise * rng.normal(size=(n, dim)))
                t += n
            np.save(folder / f"{uid}.npy", np.concatenate(chunks).astype(np.float32))
            items += [
                Item(
                    uid, segs[k][0], segs[k][1], segs[k][2], segs[k - 1][2], segs[k + 1][2], str(s)
                )
                for k in range(1, len(segs) - 1)
            ]
    return write_item_file(items, folder / "bench.item")


def run_ours(folder: Path, item_file: Path) -> dict:
    from audiotok.metrics.abx import abx
    from audiotok.metrics.abx_items import read_item_file

    items = read_item_file(item_file)
    feats = ((p.stem, np.load(p)) for p in sorted(folder.glob("*.npy")))
    return abx(feats, items, 100.0)


def run_reference(folder: Path, item_file: Path) -> dict:
    from zrc_abx2.ABX_src.models import Pooling
    from zrc_abx2.eval_ABX import EvalABX, _load_npy

    ev = EvalABX()
    files = ev._find_all_files(str(folder), ".npy")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = ev._ABX(Pooling.NONE, 3459, _load_npy, str(item_file), files, "cosine", 100.0,
                    ["within", "across"], ["within", "any"])  # fmt: skip
    names = {"within-within": "triphone_within", "across-within": "triphone_across",
             "within-any": "phoneme_within", "across-any": "phoneme_across"}  # fmt: skip
    return {names[k]: 100 * v for k, v in s.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--speakers", type=int, default=4)
    ap.add_argument("--utterances", type=int, default=3, help="per speaker")
    ap.add_argument("--phones", type=int, default=10, help="phone set size")
    ap.add_argument("--length", type=int, default=40, help="phones per utterance")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--noise", type=float, default=4.0, help="noise std per feature")
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads for both (default: torch's)"
    )
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.speakers, a.utterances, a.phones, a.length, a.dim, a.noise = 3, 2, 4, 16, 16, 1.0

    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        item_file = make_corpus(
            folder, a.speakers, a.utterances, a.phones, a.length, a.dim, a.noise
        )
        n_items = len(item_file.read_text().splitlines()) - 1
        print(
            f"{a.speakers} speakers x {a.utterances} utterances x {a.length} phones "
            f"({a.phones}-phone set), dim {a.dim}: {n_items} triphone items; "
            f"torch threads {torch.get_num_threads()}"
        )
        t = time.perf_counter()
        ours = run_ours(folder, item_file)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        ref = run_reference(folder, item_file)
        t_ref = time.perf_counter() - t
    for name, v in ours["scores"].items():
        print(f"  {name:16s} audiotok {v:6.2f} %   reference {ref[name]:6.2f} %")
    print(f"audiotok  {t_ours:8.2f} s  ({ours['dtw_pairs']} DTW pairs)")
    print(f"reference {t_ref:8.2f} s")
    speedup = t_ref / t_ours
    results.finish(
        a,
        "abx.py",
        [
            {
                "items": n_items,
                "dtw_pairs": ours["dtw_pairs"],
                "audiotok_s": t_ours,
                "reference_s": t_ref,
                "speedup": speedup,
                "scores": {"audiotok": ours["scores"], "reference": ref},
            }
        ],
        f"audiotok ABX is {speedup:.2f}x the speed of zerospeech-libriabx2 on CPU "
        f"({n_items} items, {ours['dtw_pairs']} DTW pairs)",
        ratio=speedup,
        target=">= 1x",
        met=speedup >= 1.0,
    )


if __name__ == "__main__":
    sys.exit(main())
