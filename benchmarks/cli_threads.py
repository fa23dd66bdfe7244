"""The default ``audiotok encode`` against the same command with other torch thread settings.

    python benchmarks/cli_threads.py [--files 60] [--seconds 4] [--repeats 3] [--json PATH]

Writes a synthetic corpus (speech-like tones and noise, 22.05 kHz FLAC, so decode workers
resample as on real corpora) and runs, in one session, alternating the order over repeats:
(a) the default command (``audiotok encode corpus -o tok --kind semantic``, the shipped
mfcc-km100), (b) the same with ``OMP_NUM_THREADS=1`` in the environment (what users were
told to set), (c) ``--threads N`` for every N from 1 to the cores. The rate is audio seconds
per second of the library run (the command's summary line, without the interpreter start),
median over repeats. The headline is the default's rate over the best rate: the target is
at least 0.9.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import results
import soundfile as sf

SUMMARY = re.compile(r"wrote (\d+) utterances \(([\d.]+) s of audio.* in ([\d.]+) s")


def make_corpus(folder: Path, files: int, seconds: float) -> None:
    rng = np.random.default_rng(0)
    sr = 22050
    folder.mkdir(parents=True)
    for i in range(files):
        n = int(sr * seconds * rng.uniform(0.5, 1.5))
        t = np.arange(n) / sr
        f0 = 120 + 60 * np.sin(2 * np.pi * 0.7 * t + i)
        x = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / sr) + 0.03 * rng.standard_normal(n)
        sf.write(folder / f"u{i:04d}.flac", x.astype(np.float32), sr)


def run(corpus: Path, out: Path, extra: list[str], env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "audiotok", "encode", str(corpus), "-o", str(out), "-q"]
    cmd += ["--kind", "semantic", "--overwrite", *extra]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    m = SUMMARY.search(res.stdout)
    if res.returncode != 0 or m is None:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-500:]}")
    seconds, lib_wall = float(m.group(2)), float(m.group(3))
    return seconds / lib_wall if lib_wall > 0 else seconds / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = results.add_options(ap).parse_args()
    if args.smoke:
        args.files, args.seconds, args.repeats = 4, 1.0, 1

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    base_env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    configs: dict[str, tuple[list[str], dict[str, str]]] = {
        "default": ([], base_env),
        "OMP_NUM_THREADS=1": ([], {**base_env, "OMP_NUM_THREADS": "1"}),
    }
    for n in range(1, (cores or 1) + 1):
        configs[f"--threads {n}"] = (["--threads", str(n)], base_env)
    rates: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(corpus, args.files, args.seconds)
        names = list(configs)
        for r in range(args.repeats):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                extra, env = configs[name]
                rates[name].append(run(corpus, Path(tmp) / "tok", extra, env))
    med = {name: statistics.median(v) for name, v in rates.items()}
    best_name = max(med, key=lambda k: med[k])
    print(
        f"{args.files} files x ~{args.seconds:g} s (22.05 kHz FLAC), {cores} cores, "
        f"{args.repeats} repeats, audio s per s of the library run (median, min-max):"
    )
    for name, v in rates.items():
        print(f"  {name:<20} {med[name]:8.1f}   ({min(v):.1f}-{max(v):.1f})")
    ratio = med["default"] / med[best_name]
    results.finish(
        args,
        "cli_threads.py",
        [{"config": name, "rates": rates[name], "median": med[name]} for name in rates],
        f"default audiotok encode: {med['default']:.1f} audio-s/s, {ratio:.2f}x the best "
        f"({best_name}: {med[best_name]:.1f}); OMP_NUM_THREADS=1: {med['OMP_NUM_THREADS=1']:.1f}; "
        f"torch's own default (--threads {cores}): {med[f'--threads {cores}']:.1f} "
        f"({med[f'--threads {cores}'] / med[best_name]:.2f}x); target >= 0.90x",
        ratio=ratio,
        target=">= 0.90x the best thread setting",
        met=ratio >= 0.9,
    )


if __name__ == "__main__":
    main()
