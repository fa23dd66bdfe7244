"""Wall time and peak memory of `audiotok encode` on a corpus and on the same corpus doubled.

Memory must not grow with corpus size: the engine keeps a bounded number of batches in
flight and flushes shards as it goes. The corpus is real speech from ../shared/data when
present (LJ Speech, LibriVox and spoken digits cut into ~3 s files at their own rates),
otherwise synthetic speech-like audio.

usage: python benchmarks/encode_memory.py [--files 200] [--seconds 3] [-- extra encode args]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_speech() -> list[tuple[np.ndarray, int]]:
    clips = []
    for sub in ("ljspeech_coqui_subset", "librivox_pocketsphinx", "fsdd"):
        for p in sorted((SHARED / sub).rglob("*.wav")):
            x, sr = sf.read(p, dtype="float32", always_2d=True)
            clips.append((x.mean(1), sr))
    return clips


def make_corpus(root: Path, n: int, seconds: float) -> float:
    clips = real_speech()
    rng = np.random.default_rng(0)
    total = 0.0
    if not clips:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from audio_fixtures import speechlike

        clips = [(speechlike(30, 16000, s), 16000) for s in range(4)]
    by_rate: dict[int, list[np.ndarray]] = {}
    for x, sr in clips:
        by_rate.setdefault(sr, []).append(x)
    streams = {sr: np.concatenate(xs) for sr, xs in by_rate.items()}
    rates = sorted(streams)
    for i in range(n):
        sr = rates[i % len(rates)]
        s = streams[sr]
        length = int(sr * seconds * rng.uniform(0.5, 1.5))
        start = int(rng.integers(0, max(1, len(s) - length)))
        seg = s[start : start + length]
        sub = root / f"spk{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        sf.write(sub / f"utt{i:05d}.wav", seg, sr)
        total += len(seg) / sr
    return total


def tree_rss_kb(pid: int) -> int:
    """RSS of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            status = Path(f"/proc/{d}/status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(d)] = int(line.split()[1])
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def run_encode(corpus: Path, out: Path, extra: list[str]) -> tuple[float, int, int]:
    cmd = [sys.executable, "-m", "audiotok", "encode", str(corpus), "-o", str(out), "-q", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = {"main": 0, "tree": 0}

    def sample() -> None:
        while proc.poll() is None:
            try:
                main = int(
                    next(
                        line.split()[1]
                        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                        if line.startswith("VmRSS:")
                    )
                )
            except (OSError, StopIteration):
                break
            peak["main"] = max(peak["main"], main)
            peak["tree"] = max(peak["tree"], tree_rss_kb(proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=sample)
    th.start()
    out_s, err_s = proc.communicate()
    th.join()
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"encode failed: {err_s.decode()[-2000:]}")
    return wall, peak["main"], peak["tree"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=3.0, help="mean file length")
    ap.add_argument("extra", nargs="*", help="extra arguments for audiotok encode (after --)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        secs1 = make_corpus(t / "c1", a.files, a.seconds)
        secs2 = make_corpus(t / "c2", 2 * a.files, a.seconds)
        rows = []
        for name, corpus, secs in (("corpus", t / "c1", secs1), ("doubled", t / "c2", secs2)):
            wall, main_kb, tree_kb = run_encode(corpus, t / f"tok_{name}", a.extra)
            n = len(list(corpus.rglob("*.wav")))
            rows.append((name, n, secs, wall, main_kb / 1024, tree_kb / 1024))
    src = "real speech (../shared/data)" if real_speech() else "synthetic speech-like audio"
    print(f"audiotok encode (default tokenizer mfcc-km100), {src}, {os.cpu_count()} cores")
    print(
        f"{'run':8} {'files':>6} {'audio s':>9} {'wall s':>8} {'x realtime':>10} "
        f"{'peak RSS main MiB':>18} {'peak RSS all MiB':>17}"
    )
    for name, n, secs, wall, m, tr in rows:
        print(f"{name:8} {n:6d} {secs:9.1f} {wall:8.2f} {secs / wall:10.1f} {m:18.0f} {tr:17.0f}")
    (_, _, s1, w1, m1, t1), (_, _, s2, w2, m2, t2) = rows
    print(
        f"doubled / corpus: audio {s2 / s1:.2f}x, wall {w2 / w1:.2f}x, "
        f"peak RSS main {m2 / m1:.2f}x, peak RSS all processes {t2 / t1:.2f}x"
    )


if __name__ == "__main__":
    main()
