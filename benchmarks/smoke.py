"""Every benchmark script at toy size, so none can rot: each runs with ``--smoke --json``, must
exit 0, write its JSON record and print that record's headline as its last line.

    python benchmarks/smoke.py                 # all scripts, two at a time
    python benchmarks/smoke.py --only feed_throughput,store_read --jobs 1
    python benchmarks/smoke.py --keep out/     # keep each script's JSON and log

Exits 1 naming every script that failed (and why); the figures of a smoke run mean nothing.
A script of ``benchmarks/`` missing from ``SCRIPTS`` (or listed but gone) is a failure too, so
a new script cannot skip the smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
# script -> extra arguments of its smoke run (beyond --smoke --json PATH)
SCRIPTS: dict[str, list[str]] = {
    "abx.py": ["--threads", "1"],
    "cli_threads.py": [],
    "codec_throughput.py": [],
    "encode_memory.py": [],
    "extract_throughput.py": [],
    "feed_throughput.py": [],
    "gpu_suite.py": [],
    "hybrid_bounds.py": [],
    "hybrid_distill.py": [],
    "kmeans_assign.py": [],
    "kmeans_train.py": [],
    "pipeline_efficiency.py": [],
    "ray_scaling.py": [],
    "store_read.py": [],
    "streaming.py": [],
    "streaming_ties.py": [],
    "train_memory.py": [],
    "vocoder_decode.py": [],
    "vocoder_train.py": [],
}
NOT_SCRIPTS = {"smoke.py", "report.py", "results.py", "source_tree.py"}  # helpers, no figures
# Longest first (durations of a smoke run on 2 cores), so that the last scripts to finish are
# short ones and the jobs end together; the rest follow in SCRIPTS' order (only the order
# changes)
FIRST = (
    "ray_scaling.py",
    "pipeline_efficiency.py",
    "train_memory.py",
    "cli_threads.py",
    "hybrid_distill.py",
    "encode_memory.py",
    "streaming.py",
    "gpu_suite.py",
    "vocoder_train.py",
    "extract_throughput.py",
    "codec_throughput.py",
    "streaming_ties.py",
)


def listed_problems() -> list[str]:
    present = {p.name for p in HERE.glob("*.py")} - NOT_SCRIPTS
    out = [f"{n}: in benchmarks/ but not in smoke.SCRIPTS" for n in sorted(present - set(SCRIPTS))]
    out += [f"{n}: listed in smoke.SCRIPTS but missing" for n in sorted(set(SCRIPTS) - present)]
    out += [f"{n}: in smoke.FIRST but not in smoke.SCRIPTS" for n in FIRST if n not in SCRIPTS]
    return out


def run_one(
    name: str, out: Path, timeout: float, env: dict[str, str] | None = None
) -> tuple[str, str | None, float]:
    """(name, the reason it failed or None, seconds)."""
    js, log = out / f"{Path(name).stem}.json", out / f"{Path(name).stem}.log"
    cmd = [sys.executable, str(HERE / name), "--smoke", "--json", str(js), *SCRIPTS[name]]
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent,
                           env=env)  # fmt: skip
    except subprocess.TimeoutExpired:
        return name, f"timed out after {timeout:.0f} s", time.perf_counter() - t
    wall = time.perf_counter() - t
    log.write_text(r.stdout + "\n--- stderr ---\n" + r.stderr)
    if r.returncode != 0:
        tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        return name, f"exit {r.returncode}: {tail[0][:200]}", wall
    if not js.is_file():
        return name, "wrote no JSON", wall
    record = json.loads(js.read_text())
    lines = r.stdout.strip().splitlines()
    if name == "gpu_suite.py":  # its JSON is the suite's own report; its headline is printed
        ok = bool(lines) and lines[-1].startswith("GPU suite on")
    else:
        ok = bool(lines) and lines[-1] == record.get("headline")
    if not ok:
        return name, "its last line is not its headline", wall
    return name, None, wall


def child_env(jobs: int) -> dict[str, str]:
    """The scripts' environment: OpenMP threads default to this machine's cores shared among
    the scripts running at once (torch would give each script every core, and two scripts'
    threads would wait on each other); a value the caller set is kept."""
    env = dict(os.environ)
    if "OMP_NUM_THREADS" not in env:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        env["OMP_NUM_THREADS"] = str(max(1, (cores or 1) // jobs))
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated script names (without .py)")
    ap.add_argument("--jobs", type=int, default=2, help="scripts run at once")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per script")
    ap.add_argument("--keep", type=Path, help="folder for each script's JSON and log")
    a = ap.parse_args(argv)
    a.jobs = max(1, a.jobs)
    only = {x.removesuffix(".py") for x in a.only.split(",") if x}
    names = [n for n in SCRIPTS if not only or Path(n).stem in only]
    failures = [] if only else listed_problems()
    started = time.perf_counter()
    env = child_env(a.jobs)
    with tempfile.TemporaryDirectory(prefix="audiotok-smoke-") as tmp:
        out = a.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        order = sorted(names, key=lambda n: FIRST.index(n) if n in FIRST else len(FIRST))
        with ThreadPoolExecutor(a.jobs) as pool:
            runs = {n: pool.submit(run_one, n, out, a.timeout, env) for n in order}
            for n in names:
                name, why, wall = runs[n].result()
                print(f"[{wall:6.1f} s] {name}: {'ok' if why is None else 'FAILED: ' + why}",
                      flush=True)  # fmt: skip
                if why is not None:
                    failures.append(f"{name}: {why}")
    wall = time.perf_counter() - started
    for f in failures:
        print(f"error: {f}", file=sys.stderr)
    failed = ", ".join(f.split(":")[0] for f in failures)
    print(
        f"smoke: {len(names)} scripts in {wall:.0f} s; "
        + (f"FAILED: {failed}" if failed else "all ok")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
