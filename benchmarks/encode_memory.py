"""Wall time and peak memory of `audiotok encode` on a corpus and on the same corpus doubled.

Memory must not grow with corpus size: the engine keeps a bounded number of batches in
flight and flushes shards as it goes. The corpus is real speech from ../shared/data when
present (LJ Speech, LibriVox and spoken digits cut into ~3 s files at their own rates),
otherwise synthetic speech-like audio.

It also measures what one decode worker costs: the peak RSS of a process that decodes and
resamples every file of the corpus to 16 kHz the way audiotok's workers do now (soundfile +
soxr, ``audiotok.pipeline.load.load_batch``; no torch) against the way they did before (the
same read, resampled with torchaudio's sinc resampler, which imports torch in every worker),
each in a fresh process.

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
import results
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


def worker_child(kind: str, corpus: str) -> None:
    """Decode every file as one worker would; print peak RSS (MiB) and whether torch loaded."""
    files = sorted(Path(corpus).rglob("*.wav"))
    t0 = time.perf_counter()
    if kind == "soxr":
        from audiotok.corpus import AudioItem
        from audiotok.pipeline.load import load_batch
        from audiotok.pipeline.plan import Planned

        batch = [Planned(AudioItem(f.stem, str(f), f.name), 0) for f in files]
        out = load_batch(batch, 16000, None, None, None)
        assert all(o.reason is None for o in out)
    else:
        import torch
        import torchaudio.functional as AF

        for f in files:
            x, sr = sf.read(f, dtype="float32", always_2d=True)
            if sr != 16000:
                AF.resample(torch.from_numpy(x.mean(1)), sr, 16000)
    wall = time.perf_counter() - t0
    hwm = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    print(f"{hwm:.0f} {int('torch' in sys.modules)} {wall:.2f}")


def measure_workers(corpus: Path, workers: int) -> dict:
    rows = {}
    for kind in ("torch", "soxr"):
        r = subprocess.run(
            [sys.executable, __file__, "--worker-child", kind, str(corpus)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        mib, torch_loaded, wall = r.stdout.split()
        rows[kind] = (float(mib), torch_loaded == "1", float(wall))
    print(f"one decode worker over the corpus (peak RSS), {workers} worker(s) by default:")
    for kind, label in (("torch", "before: torchaudio resample"), ("soxr", "now: soxr, no torch")):
        mib, tl, wall = rows[kind]
        print(
            f"  {label:28} {mib:7.0f} MiB per worker, {workers * mib:7.0f} MiB for {workers}; "
            f"torch imported: {tl}; {wall:.1f} s"
        )
    print(f"  per-worker memory now / before: {rows['soxr'][0] / rows['torch'][0]:.2f}x")
    return rows


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker-child":
        worker_child(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=3.0, help="mean file length")
    ap.add_argument("extra", nargs="*", help="extra arguments for audiotok encode (after --)")
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.files, a.seconds = 4, 1.0
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        secs1 = make_corpus(t / "c1", a.files, a.seconds)
        secs2 = make_corpus(t / "c2", 2 * a.files, a.seconds)
        rows = []
        for name, corpus, secs in (("corpus", t / "c1", secs1), ("doubled", t / "c2", secs2)):
            wall, main_kb, tree_kb = run_encode(corpus, t / f"tok_{name}", a.extra)
            n = len(list(corpus.rglob("*.wav")))
            rows.append((name, n, secs, wall, main_kb / 1024, tree_kb / 1024))
        from audiotok.cli.common import default_workers

        workers = measure_workers(t / "c1", default_workers())
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
    out = [dict(zip(("line", "files", "audio_s", "wall_s", "rss_main_mib", "rss_all_mib"), r,
                    strict=True)) for r in rows]  # fmt: skip
    out += [{"line": f"decode worker ({k})", "peak_rss_mib": v[0], "torch": v[1]}
            for k, v in workers.items()]  # fmt: skip
    results.finish(
        a, "encode_memory.py", out,
        f"encode memory: decode worker {workers['soxr'][0]:.0f} MiB (soxr) vs "
        f"{workers['torch'][0]:.0f} MiB (torchaudio); corpus doubled -> peak RSS of all "
        f"processes {t2 / t1:.2f}x",
        ratio=workers["torch"][0] / workers["soxr"][0],
    )  # fmt: skip


if __name__ == "__main__":
    main()
