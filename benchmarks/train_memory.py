"""Peak memory of training, and where it goes: ``audiotok hybrid train`` (MFCC teacher) and
``audiotok vocoder train`` at their default models with batch 2.

    python benchmarks/train_memory.py                 # default models, --steps 3 each
    python benchmarks/train_memory.py --smoke --json mem.json   # toy models, 1 step

Each command runs in a fresh process (the CLI's own entry point, ``--num-workers 0`` so one
process holds everything) on a synthetic corpus of ``--files`` speech-like files of 3 s at
16 kHz (the vocoder trains on the corpus's mfcc-km100 tokens). The process samples its own
resident memory every 20 ms and records, per phase, the peak reached by its end:

- ``imports``: Python, torch and audiotok loaded;
- ``ready``: the training data prepared (the hybrid's teacher features, both data indexes)
  and the models and optimizers built, before the first step;
- ``train``: the peak over the training steps (and their held-out evaluations).

Next to them, from the trainer's objects after the last step: the bytes of the generator's
and the discriminators' parameters, their gradients and the AdamW state (two moments per
parameter). What the peak holds beyond ``imports`` + those is activations of the forward and
backward passes, the allocator's cache and the data; docs/performance.md says which.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import results

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, threading, time
from pathlib import Path

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
peak = [0]
def sample():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
phases = {}
import torch, audiotok
from audiotok.cli.app import main
from audiotok.train import engine
peak[0] = max(peak[0], rss()); phases["imports"] = peak[0]
objects = {}
run = engine.GanTrainer.run
def wrapped(self, *a, **k):
    peak[0] = max(peak[0], rss()); phases["ready"] = peak[0]
    out = run(self, *a, **k)
    def nbytes(ts):
        return sum(t.numel() * t.element_size() for t in ts)
    parts = (("generator", self.G, self.opt_g), ("discriminators", self.D, self.opt_d))
    for name, mod, opt in parts:
        ps = list(mod.parameters())
        objects[name] = {
            "params": sum(p.numel() for p in ps),
            "param_bytes": nbytes(ps),
            "grad_bytes": nbytes([p.grad for p in ps if p.grad is not None]),
            "adam_bytes": nbytes([v for s in opt.state.values() for v in s.values()
                                  if torch.is_tensor(v) and v.dim() > 0]),
        }
    return out
engine.GanTrainer.run = wrapped
try:
    main(sys.argv[1:])
except SystemExit as e:
    if e.code:
        raise
peak[0] = max(peak[0], rss()); phases["train"] = peak[0]
print("MEMORY " + json.dumps({"phases": phases, "objects": objects}))
"""


def corpus(folder: Path, files: int) -> None:
    import soundfile as sf

    sys.path.insert(0, str(ROOT / "tests"))
    from audio_fixtures import speechlike

    folder.mkdir(parents=True)
    for i in range(files):
        sf.write(folder / f"u{i:03d}.wav", speechlike(3.0, 16000, seed=i), 16000)


def measure(argv: list[str]) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    r = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True,
                       env=env, cwd=ROOT)  # fmt: skip
    line = [x for x in r.stdout.splitlines() if x.startswith("MEMORY ")]
    if r.returncode or not line:
        raise SystemExit(f"audiotok {' '.join(argv[:2])} failed: {r.stderr.strip()[-500:]}")
    return json.loads(line[-1][len("MEMORY ") :])


def mib(b: float) -> float:
    return b / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=2)
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.files, a.steps = 4, 1
    toy_h = ["--n-filters", "8", "--dimension", "32", "--disc-width", "0.0625"] if a.smoke else []
    toy_v = ["--channels", "16", "--disc-width", "0.0625"] if a.smoke else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="train_memory_") as tmp:
        t = Path(tmp)
        corpus(t / "corpus", a.files)
        common = ["--steps", str(a.steps), "--batch-size", str(a.batch_size), "--device", "cpu",
                  "--num-workers", "0", "--no-tensorboard", "-q"]  # fmt: skip
        runs = {
            "hybrid train (MFCC teacher)": ["hybrid", "train", str(t / "corpus"), "-o",
                                            str(t / "hybrid"), "--teacher", "mfcc", *common,
                                            *toy_h],
            "vocoder train": ["vocoder", "train", str(t / "tokens"), "-o", str(t / "voc"),
                              *common, *toy_v],
        }  # fmt: skip
        from audiotok.cli.app import main as cli

        try:
            cli(["encode", str(t / "corpus"), "-o", str(t / "tokens"), "--num-workers", "0", "-q"])
        except SystemExit as e:
            if e.code:
                raise
        for name, argv in runs.items():
            m = measure(argv)
            ph, ob = m["phases"], m["objects"]
            state = {k: sum(o[k] for o in ob.values()) for k in
                     ("params", "param_bytes", "grad_bytes", "adam_bytes")}  # fmt: skip
            row = {"line": name, "batch_size": a.batch_size,
                   **{f"rss_{k}_mib": mib(v) for k, v in ph.items()},
                   **{k: (mib(v) if k.endswith("bytes") else v) for k, v in state.items()},
                   "objects": ob}  # fmt: skip
            rows.append(row)
            held = mib(state["param_bytes"] + state["grad_bytes"] + state["adam_bytes"])
            grown = mib(state["grad_bytes"] + state["adam_bytes"])  # allocated by the steps
            print(
                f"{name}: peak RSS {row['rss_train_mib']:.0f} MiB (after imports "
                f"{row['rss_imports_mib']:.0f}, before the first step {row['rss_ready_mib']:.0f}); "
                f"{state['params'] / 1e6:.1f} M parameters: weights "
                f"{mib(state['param_bytes']):.0f} + gradients {mib(state['grad_bytes']):.0f} + "
                f"AdamW {mib(state['adam_bytes']):.0f} = {held:.0f} MiB; the rest "
                f"{row['rss_train_mib'] - row['rss_ready_mib'] - grown:.0f} MiB more at the peak "
                "than before the first step plus gradients and AdamW: activations, allocator "
                "cache, batches",
                flush=True,
            )
    results.finish(
        a, "train_memory.py", rows,
        "training peak RSS at batch " + str(a.batch_size) + ": " + ", ".join(
            f"{r['line'].split(' (')[0]} {r['rss_train_mib']:.0f} MiB "
            f"({r['params'] / 1e6:.1f} M params)" for r in rows),
    )  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
