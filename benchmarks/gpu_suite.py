"""Every GPU figure of audiotok in one run (under eight minutes on one H100/H200): one table,
one JSON file, a non-zero exit naming each part that broke.

    python benchmarks/gpu_suite.py --json gpu.json            # on a GPU node
    python benchmarks/gpu_suite.py --smoke --json smoke.json  # every part at toy size, CPU
    python benchmarks/gpu_suite.py --smoke --device cuda      # toy sizes on the GPU: seconds,
                                                              # a check of the GPU code paths
    python benchmarks/gpu_suite.py --only kmeans,codec        # some parts (or item keys)

Each line is a rate in audio-seconds per second for the path measured and for a baseline
measured in the same run, and their ratio, next to the project's target where it has one:

- ``extract``: HuBERT-base and WavLM-large features in bf16, batched vs the per-file loop
  (target >= 5x);
- ``pipeline``: end-to-end ``encode_corpus`` (HuBERT-base + k = 500) vs the model's forward
  alone on the same audio (target >= 0.8 of it);
- ``kmeans``: torch and faiss Lloyd iterations on 1M x 768, k = 2000, vs the iteration's
  matrix product alone (target >= 0.5 efficiency); exact assignment vs fairseq's formula;
- ``codec``: EnCodec 24 kHz and DAC 44 kHz padded batches vs each package's per-file API,
  with the fraction of equal codes;
- ``vocoder``: decode (batched vs one at a time) and training steps per second;
- ``hybrid``: hybrid codec training steps per second (trainer vs its step alone).

Runs from a bare checkout (no install, no project venv: ``source_tree.py``); packages the
node lacks come as wheels in ``.whl/`` (``benchmarks/gpu_wheels.sh``), unpacked at start. A
line that cannot run here says why (a missing package, no GPU, out of memory) and does not
fail the run; a line that breaks fails it (exit 1), with its error in the table and the JSON.
Without a GPU and without ``--smoke`` every line is skipped. Sizes: ``gpu_parts/common.py``.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import source_tree

source_tree.install()  # at import: spawned worker processes re-run this module's top level

from gpu_parts import codecs, extract, hybrid, kmeans, pipeline, vocoder  # noqa: E402
from gpu_parts.common import SMOKE, Context, Figure, Item, Skip  # noqa: E402

ITEMS: list[Item] = [
    *extract.ITEMS,
    *pipeline.ITEMS,
    *kmeans.ITEMS,
    *codecs.ITEMS,
    *vocoder.ITEMS,
    *hybrid.ITEMS,
]
PARTS = list(dict.fromkeys(it.part for it in ITEMS))
BUDGET_S = 480.0
WHEELS = source_tree.ROOT / ".whl"


def missing(requires: tuple[str, ...]) -> str | None:
    """The first required module that does not import, with the error; None when all do."""
    for name in requires:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a broken install is as missing as none
            return f"missing package {name} ({type(e).__name__}: {e}); carry it as a wheel: see benchmarks/gpu_wheels.sh"  # noqa: E501
    return None


def run_item(ctx: Context, item: Item) -> Figure:
    import torch

    t0 = time.perf_counter()
    fig = Figure(item.key, item.part, item.title, status="skipped")
    if not ctx.smoke and not ctx.device.startswith("cuda"):
        fig.reason = "no CUDA GPU (full sizes run on GPUs only; --smoke runs toy sizes on the CPU)"
    elif (why := missing(item.requires)) is not None:
        fig.reason = why
    else:
        try:
            fig = item.run(ctx)
            fig.key, fig.part, fig.toy = item.key, item.part, ctx.smoke
            fig.check()
        except Skip as e:
            fig.reason = str(e)
        except torch.cuda.OutOfMemoryError as e:
            fig.reason = f"out of GPU memory: {str(e).splitlines()[0]}"
        except Exception as e:  # noqa: BLE001 - one broken part must not hide the others
            traceback.print_exc()
            fig = Figure(item.key, item.part, item.title, status="failed")
            fig.reason = f"{type(e).__name__}: {e}"
    fig.wall_s = time.perf_counter() - t0
    if ctx.device.startswith("cuda"):
        torch.cuda.empty_cache()
    return fig


def fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    return f"{v:.3g}{unit}" if abs(v) < 1000 else f"{v:,.0f}{unit}"


def table(figures: list[Figure]) -> str:
    """The printed table: one line per figure, then its baseline and details."""
    w = 44
    head = f"{'figure':<{w}} {'audio-s/s':>10} {'baseline':>10} {'ratio':>8} {'target':>7}  status"
    lines = [head, "-" * len(head)]
    for f in figures:
        if f.status != "ok":
            lines.append(f"{f.title:<{w}} {f.status.upper()}: {f.reason}")
            continue
        kind = "x" if f.ratio_kind == "speed-up" else ""
        target = f">={fmt(f.target, kind)}" if f.target is not None else "-"
        status = "toy size" if f.toy else {True: "met", False: "NOT met", None: "ok"}[f.met]
        lines.append(
            f"{f.title:<{w}} {fmt(f.audio_s_per_s):>10} {fmt(f.baseline_audio_s_per_s):>10} "
            f"{fmt(f.ratio, kind):>8} {target:>7}  {status}"
        )
        lines.append(f"{'':<4}baseline: {f.baseline}; {json.dumps(f.extra, default=str)}")
    return "\n".join(lines)


def environment(ctx: Context, wheels: list[str]) -> dict[str, Any]:
    import torch

    mods = ("audiotok", "audiotok.kmeans", "audiotok.vocoders", "audiotok.cli", "torch")
    env: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if ctx.device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "wheels": wheels,
        "source": {m: source_tree.origin(m) for m in mods},
    }
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--smoke", action="store_true", help="every part at toy size (CPU default)")
    ap.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: the GPU for full sizes, the CPU for --smoke; cuda with --smoke checks the "
        "GPU code paths in seconds before a full run",
    )
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--only", default="", help="comma-separated parts or item keys")
    ap.add_argument("--wheels", type=Path, default=WHEELS, help="folder of *.whl to unpack")
    ap.add_argument("--dtype", default="bf16", help="S3M compute dtype on the GPU")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (--smoke: 1)")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temp dir)")
    a = ap.parse_args(argv)

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="audiotok-gpu-suite-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    wheels = source_tree.unpack_wheels(a.wheels, tmp / "site") if a.wheels.is_dir() else []
    import torch

    threads = a.threads or (1 if a.smoke else 0)
    if threads:
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
    from gpu_parts.common import FULL

    if a.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch sees no CUDA GPU here")
    if a.device == "auto":
        device = "cuda" if torch.cuda.is_available() and not a.smoke else "cpu"
    else:
        device = a.device
    work = a.keep or tmp / "work"
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(device, a.smoke, work, SMOKE if a.smoke else FULL, dtype=a.dtype)
    only = {x for x in a.only.split(",") if x}
    unknown = only - set(PARTS) - {it.key for it in ITEMS}
    if unknown:
        ap.error(f"--only: unknown {sorted(unknown)}; parts: {PARTS}")
    chosen = [it for it in ITEMS if not only or it.part in only or it.key in only]
    env = environment(ctx, wheels)
    print(f"audiotok GPU suite on {env['device']} (torch {env['torch']}, {len(chosen)} lines"
          f"{', smoke sizes' if a.smoke else ''}); wheels: {', '.join(wheels) or 'none'}",
          flush=True)  # fmt: skip
    figures: list[Figure] = []
    part = None
    for item in chosen:
        if item.part != part:
            ctx.cache.clear()  # free the previous part's data (GPU memory)
            part = item.part
        fig = run_item(ctx, item)
        figures.append(fig)
        note = fig.reason if fig.status != "ok" else f"ratio {fmt(fig.ratio)}"
        print(f"[{fig.wall_s:6.1f} s] {fig.key}: {fig.status} ({note})", flush=True)
    ctx.cache.clear()
    wall = time.perf_counter() - started
    failed = [f for f in figures if f.status == "failed"]
    print()
    print(table(figures))
    counts = {k: sum(f.status == k for f in figures) for k in ("ok", "skipped")}
    print(
        f"\ntotal {wall:.0f} s (budget {BUDGET_S:.0f} s on one GPU); {counts['ok']} measured, "
        f"{counts['skipped']} skipped, {len(failed)} failed"
    )
    if a.json:
        report = {
            "suite": "audiotok gpu_suite",
            "smoke": a.smoke,
            "ok": not failed,
            "wall_s": wall,
            "budget_s": BUDGET_S,
            "environment": env,
            "targets": {"extract": 5.0, "pipeline": 0.8, "kmeans_iterations": 0.5},
            "figures": [f.to_dict() for f in figures],
        }
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=1, default=str) + "\n")
    for f in failed:
        print(f"error: {f.key} failed: {f.reason}", file=sys.stderr)
    ratios = ", ".join(f"{f.key} {fmt(f.ratio)}" for f in figures if f.status == "ok")
    print(
        f"GPU suite on {env['device']}{' (smoke sizes)' if a.smoke else ''}: {counts['ok']} "
        f"measured, {counts['skipped']} skipped, {len(failed)} failed; {ratios or 'no ratios'}",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
