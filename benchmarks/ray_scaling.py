"""The same corpus through the local engine and the Ray engine (1 and 2 model actors), one run.

    python benchmarks/ray_scaling.py [--minutes 10] [--hubert] [--batch-seconds 60]

Corpus: ``../shared/data/fsdd`` (8 kHz spoken digits, resampled to 16 kHz by the decode
stage) cut to ``--minutes`` of audio, or speech-like audio synthesised when it is absent.
Tokenizer: ``mfcc-km100``, or with ``--hubert`` the HuBERT-base architecture with random
weights (saved as a Hugging Face folder; the compute is that of the real model) and a random
k = 500 codebook on layer 6.

Each configuration runs in a fresh process; this one samples the resident memory of that
process and all its descendants every 0.2 s (Ray's GCS, raylet, workers and actors are
descendants of the driver that starts them), as the sum of RSS (shared pages counted once
per process) and of PSS (shared pages split between processes). Configurations:

- ``local``: the local engine, one decode worker, torch with its default threads;
- ``local 1 thread``: the same with ``OMP_NUM_THREADS=1`` (torch and BLAS on one thread: what
  Ray gives an actor of one CPU);
- ``ray 1 actor + decode``: one actor (1 CPU) and one decode task (1 CPU);
- ``ray 1 actor inline``: one actor that decodes its own batches (1 CPU);
- ``ray 2 actors inline``: two such actors (2 CPUs).

Ray's start (``ray.init``) is timed apart from the run. Every store is compared with the
local engine's (ids and codes). Also measured: decode + resample throughput of one core
(``load_batch``, what a decode task runs) on WAV and FLAC, the store's bytes per token, and
sha256 throughput (what verifying a store on resume costs); docs/scale.md uses them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CONFIGS = {
    "local": {"engine": "local", "workers": 1},
    "local 1 thread": {"engine": "local", "workers": 1, "env": {"OMP_NUM_THREADS": "1"}},
    "ray 1 actor + decode": {"engine": "ray", "actors": 1, "workers": 1},
    "ray 1 actor inline": {"engine": "ray", "actors": 1, "workers": 0},
    "ray 2 actors inline": {"engine": "ray", "actors": 2, "workers": 0},
}


# --- corpus and tokenizer ----------------------------------------------------------------
def make_corpus(out: Path, minutes: float) -> float:
    out.mkdir()
    budget = minutes * 60
    files = sorted((DATA / "fsdd").rglob("*.wav")) if (DATA / "fsdd").is_dir() else []
    total = 0.0
    for f in files:  # links keep the real files
        (out / f.name).symlink_to(f)
        total += sf.info(f).duration
        if total >= budget:
            return total
    sys.path.insert(0, str(ROOT / "tests"))
    from audio_fixtures import speechlike

    i = 0
    while total < budget:
        secs = 0.5 + (i % 7) * 0.4
        sf.write(out / f"u{i:05d}.wav", speechlike(secs, 8000, i), 8000)
        total += secs
        i += 1
    return total


def tokenizer_args(tmp: Path, hubert: bool) -> list[str]:
    """``audiotok.load`` arguments (JSON-able) for the child processes."""
    if not hubert:
        return ["mfcc-km100"]
    import torch

    from audiotok import extractors
    from audiotok.kmeans.codebook import Codebook

    torch.manual_seed(0)
    ex = extractors.load("hubert-base-ls960", pretrained=False, layers=[12])
    ex.model.save_pretrained(tmp / "hubert")
    rng = np.random.default_rng(0)
    cent = torch.from_numpy(rng.standard_normal((500, 768)).astype(np.float32))
    meta = {"extractor": "hubert-base-ls960", "layer": 6}
    Codebook(cent, meta).save(tmp / "km500.safetensors")
    return [str(tmp / "hubert"), str(tmp / "km500.safetensors")]


def load_tokenizer(args: list[str]):
    """mfcc-km100, or HuBERT-base by its registry name with the saved random weights (the
    Ray actors rebuild the tokenizer from its recipe, as on a cluster)."""
    import audiotok

    if len(args) == 1:
        return audiotok.load(args[0])
    return audiotok.load("hubert-base-ls960", weights=args[0], codebook=args[1], layer=6)


# --- one configuration, in its own process -------------------------------------------------
def child(cfg: dict, corpus: str, out: str, tok_args: list[str], batch_seconds: float) -> None:
    from audiotok.pipeline.api import scan_inputs
    from audiotok.pipeline.local import Events, RunOptions

    first: list[float] = []  # (time, audio seconds) of the first result
    done = [0.0]

    def on_progress(sec: float, n: int) -> None:
        done[0] += sec
        if not first and sec > 0:
            first.extend([time.perf_counter(), done[0]])

    ev = Events(on_progress=on_progress)
    tok = load_tokenizer(tok_args)
    items, problems = scan_inputs([corpus])
    opts = RunOptions(batch_seconds=batch_seconds, num_workers=cfg["workers"])
    init_s = 0.0
    if cfg["engine"] == "ray":
        import ray

        from audiotok.engines.ray import RayEngine, RayOptions
        from audiotok.pipeline.api import encode_corpus

        t0 = time.perf_counter()
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        init_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = encode_corpus(
            items,
            tok,
            out,
            engine=RayEngine(RayOptions(actors=cfg["actors"])),
            options=opts,
            events=ev,
            problems=problems,
        )
        end = time.perf_counter()
        run_s = end - t0
        ray.shutdown()
    else:
        from audiotok.pipeline.api import encode_corpus as local_encode

        t0 = time.perf_counter()
        s = local_encode(items, tok, out, options=opts, problems=problems, events=ev)
        end = time.perf_counter()
        run_s = end - t0
    steady = (s.seconds - first[1]) / max(end - first[0], 1e-9) if first else 0.0
    print(
        json.dumps(
            {
                "seconds": s.seconds,
                "encoded": s.encoded,
                "errors": len(s.errors),
                "init_s": init_s,
                "run_s": run_s,
                "steady": steady,
                "first_s": first[0] - t0 if first else run_s,
            }
        )
    )


# --- memory of a process tree --------------------------------------------------------------
def _tree(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _mem_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; zeros once it is gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class TreeMemory:
    """Peak summed RSS and PSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every = pid, every
        self.peak_rss = self.peak_pss = self.peak_procs = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.pid)
            mem = [_mem_kb(p) for p in pids]
            rss, pss = sum(m[0] for m in mem), sum(m[1] for m in mem)
            if rss > self.peak_rss:
                self.peak_rss, self.peak_procs = rss, len(pids)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def run_config(
    name: str,
    cfg: dict,
    corpus: Path,
    out: Path,
    tok_args: list[str],
    batch_seconds: float,
    sample_every: float = 0.2,
) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        json.dumps(cfg),
        "--corpus",
        str(corpus),
        "--out",
        str(out),
        "--tok",
        json.dumps(tok_args),
        "--batch-seconds",
        str(batch_seconds),
    ]
    t0 = time.perf_counter()
    env = {**os.environ, **cfg.get("env", {})}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    mem = TreeMemory(p.pid, sample_every)
    out_s, err_s = p.communicate()
    mem.stop()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{name} failed:\n{err_s[-3000:]}")
    res = json.loads(out_s.strip().splitlines()[-1])
    res.update(
        wall=wall, rss_mb=mem.peak_rss / 1024, pss_mb=mem.peak_pss / 1024, procs=mem.peak_procs
    )
    return res


# --- side measurements for docs/scale.md ---------------------------------------------------
def decode_rate(files: list[Path], sr: int = 16000) -> float:
    """Audio seconds decoded and resampled per second by one process (one core)."""
    from audiotok.corpus import AudioItem
    from audiotok.pipeline.load import load_batch
    from audiotok.pipeline.plan import probe

    planned = [probe(AudioItem(f.stem, str(f), f.name), sr, None) for f in files]
    planned = [p for p in planned if not isinstance(p, str)]
    t0 = time.perf_counter()
    got = load_batch(planned, sr, None, None, None)
    dt = time.perf_counter() - t0
    return sum(len(g.wave) for g in got if g.wave is not None) / sr / dt


def probe_rate(files: list[Path]) -> float:
    """Headers probed per second by one process (what planning costs per file)."""
    from audiotok.corpus import AudioItem
    from audiotok.pipeline.plan import probe_chunk

    items = [AudioItem(f.stem, str(f), f.name) for f in files]
    t0 = time.perf_counter()
    probe_chunk(items, 16000, None)
    return len(items) / (time.perf_counter() - t0)


def driver_rate(tmp: Path, rows: int = 20000, frames: int = 500) -> float:
    """Rows per second the driver takes in: result tables (as the actors send them) through
    ``results_of`` into a ``TokenWriter`` (semantic units, K = 1, ``frames`` per row)."""
    from audiotok.engines.stages import Result, result_table, results_of
    from audiotok.spec import TokenSpec
    from audiotok.store.tokens import TokenWriter

    rng = np.random.default_rng(0)
    spec = TokenSpec("semantic", "bench-km500", 16000, 50.0, 1, 500, layer=6)
    tables = [
        result_table(
            [
                Result(f"u{b}_{i}", 160000, array=rng.integers(0, 500, (1, frames)))
                for i in range(100)
            ]
        )
        for b in range(rows // 100)
    ]
    w = TokenWriter(tmp / "driver", spec)
    t0 = time.perf_counter()
    for t in tables:
        for r in results_of(t):
            w.add(r.id, f"/corpus/{r.id}.flac", r.num_samples / 16000, r.array)
    w.close()
    return rows / (time.perf_counter() - t0)


def store_bytes(store: Path) -> tuple[int, int, int]:
    """(Parquet bytes, flat .codes bytes, tokens)."""
    import audiotok

    pq_bytes = sum(p.stat().st_size for p in store.glob("shard-*.parquet"))
    flat = sum(p.stat().st_size for p in (store / ".codes").glob("*.npy"))
    tokens = sum(int(c.size) for _, c in audiotok.open_tokens(str(store)))
    return pq_bytes, flat, tokens


def sha256_rate(mb: int = 256) -> float:
    buf = np.random.default_rng(0).integers(0, 255, mb << 20, dtype=np.uint8).tobytes()
    t0 = time.perf_counter()
    hashlib.sha256(buf).hexdigest()
    return mb / (time.perf_counter() - t0)


def same_store(a: Path, b: Path) -> bool:
    import audiotok

    x = {k: np.array(v) for k, v in audiotok.open_tokens(str(a))}
    y = {k: np.array(v) for k, v in audiotok.open_tokens(str(b))}
    return sorted(x) == sorted(y) and all(np.array_equal(x[k], y[k]) for k in x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--hubert", action="store_true")
    ap.add_argument("--batch-seconds", type=float, default=60.0)
    ap.add_argument("--only", default="", help="comma-separated configuration names")
    ap.add_argument("--child")
    ap.add_argument("--corpus")
    ap.add_argument("--out")
    ap.add_argument("--tok")
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.minutes, a.only = 0.05, a.only or "local 1 thread,ray 1 actor inline"
    if a.child:
        child(json.loads(a.child), a.corpus, a.out, json.loads(a.tok), a.batch_seconds)
        return
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        secs = make_corpus(tmp / "corpus", a.minutes)
        n = len(list((tmp / "corpus").iterdir()))
        tok_args = tokenizer_args(tmp, a.hubert)
        load0 = os.getloadavg()[0]
        print(
            f"{n} files, {secs / 60:.1f} min of audio; tokenizer {' '.join(tok_args)}; "
            f"{os.cpu_count()} CPUs, load average {load0:.1f}"
        )
        names = [x for x in CONFIGS if not a.only or x in a.only.split(",")]
        res = {}
        for i, name in enumerate(names):
            res[name] = run_config(
                name, CONFIGS[name], tmp / "corpus", tmp / f"s{i}", tok_args, a.batch_seconds,
                sample_every=1.0 if a.smoke else 0.2,  # each sample reads /proc of every process
            )  # fmt: skip
            r = res[name]
            same = same_store(tmp / "s0", tmp / f"s{i}")
            w = r["seconds"] / r["run_s"]
            print(
                f"{name:22s} {r['steady']:7.1f} audio-s/s steady, {w:7.1f}"
                f" whole run ({r['run_s']:5.1f} s; first result after {r['first_s']:4.1f} s; "
                f"Ray start {r['init_s']:4.1f} s)  peak RSS {r['rss_mb']:5.0f} MB, PSS "
                f"{r['pss_mb']:5.0f} MB, {r['procs']:2d} processes; store equals local: {same}",
                flush=True,
            )
        steady = {k: v["steady"] for k, v in res.items()}
        whole = {k: v["seconds"] / v["run_s"] for k, v in res.items()}

        def ratio(x: str, y: str, what: str) -> None:
            if x in steady and y in steady:
                print(
                    f"{what:40s} steady {steady[x] / steady[y]:.2f}, whole run "
                    f"{whole[x] / whole[y]:.2f}"
                )

        ratio("ray 1 actor + decode", "local", "Ray 1 actor + decode / local")
        ratio("ray 1 actor inline", "local 1 thread", "Ray 1 actor inline / local 1 thread")
        ratio("ray 2 actors inline", "ray 1 actor inline", "Ray 2 actors / 1 actor (scaling)")
        print(f"load average after: {os.getloadavg()[0]:.1f}")

        # side measurements
        fsdd = sorted((tmp / "corpus").iterdir())[:400]
        print(
            f"decode+resample, one core: {decode_rate(fsdd):7.0f} audio-s/s "
            f"({fsdd[0].suffix} {sf.info(fsdd[0]).samplerate} Hz -> 16 kHz)"
        )
        lj = sorted((DATA / "ljspeech_coqui_subset").rglob("*.wav"))[:40]
        if lj:
            print(
                f"decode+resample, one core: {decode_rate(lj):7.0f} audio-s/s "
                f"(LJSpeech wav {sf.info(lj[0]).samplerate} Hz -> 16 kHz)"
            )
            flac = tmp / "flac"
            flac.mkdir()
            for f in lj:
                x, sr = sf.read(f, dtype="float32")
                from audiotok import audio as A

                sf.write(flac / f"{f.stem}.flac", A.resample(x, sr, 16000), 16000)
            print(
                f"decode, one core:          {decode_rate(sorted(flac.iterdir())):7.0f} "
                "audio-s/s (FLAC 16 kHz, no resampling)"
            )
        pq_b, flat_b, tokens = store_bytes(tmp / "s0")
        print(
            f"store: {tokens} tokens, Parquet {pq_b / tokens:.2f} B/token + flat codes "
            f"{flat_b / tokens:.2f} B/token = {(pq_b + flat_b) / tokens:.2f} B/token"
        )
        print(f"sha256: {sha256_rate(16 if a.smoke else 256):.0f} MB/s on one core")
        print(f"header probes, one core: {probe_rate(fsdd):.0f} files/s (local disk, cached)")
        dr = driver_rate(tmp, 1000 if a.smoke else 20000)
        print(
            f"driver intake: {dr:.0f} rows/s ({dr * 500 / 1e6:.1f} M tokens/s; 10 s rows of "
            "500 tokens into a TokenWriter)"
        )
    rows = [{"line": k, **{f: v[f] for f in ("steady", "run_s", "rss_mb", "pss_mb")}}
            for k, v in res.items()]  # fmt: skip
    pairs = [("ray 1 actor + decode", "local"), ("ray 1 actor inline", "local 1 thread"),
             ("ray 2 actors inline", "ray 1 actor inline")]  # fmt: skip
    head = [
        f"{x} / {y} {steady[x] / steady[y]:.2f} steady, {whole[x] / whole[y]:.2f} whole run"
        for x, y in pairs
        if x in steady and y in steady
    ]
    results.finish(
        a, "ray_scaling.py", rows, "Ray engine, audio-s/s: " + "; ".join(head),
        ratio=steady["ray 1 actor + decode"] / steady["local"] if head and "local" in steady
        and "ray 1 actor + decode" in steady else None,
    )  # fmt: skip


if __name__ == "__main__":
    main()
