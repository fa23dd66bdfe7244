"""Training speed through the real trainers: steps per second of ``GanTrainer.run`` against
its step function alone.

A trainer (``train_vocoder``, ``train_hybrid``) runs ``2 * window`` steps logging every
``window``: the second log line's ``train/steps_per_s`` (the trainer's own measure: steps
over the time since the previous line, data loading included) is the figure; the first
window is the warm-up. Baseline: the same trainer's ``train_step`` on one batch already on
the device, ``window`` steps after ``window`` warm-up steps: the step function alone, so the
ratio is the share of the step function's speed the whole loop keeps.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gpu_parts.common import Context, Figure, write_corpus


@contextlib.contextmanager
def captured_trainer() -> Iterator[dict[str, Any]]:
    """Within the block, every ``GanTrainer.run`` records its trainer in the yielded dict."""
    from audiotok.train.engine import GanTrainer

    box: dict[str, Any] = {}
    original = GanTrainer.run

    def run(self: Any, resume: bool = False) -> dict[str, Any]:
        box["trainer"] = self
        return original(self, resume)

    GanTrainer.run = run  # type: ignore[method-assign]
    try:
        yield box
    finally:
        GanTrainer.run = original  # type: ignore[method-assign]


def logged_steps_per_s(out_dir: Path, step: int) -> float:
    for line in (out_dir / "metrics.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec.get("step") == step and "train/steps_per_s" in rec:
            return float(rec["train/steps_per_s"])
    raise RuntimeError(f"{out_dir}/metrics.jsonl has no train/steps_per_s at step {step}")


def step_alone(ctx: Context, trainer: Any, window: int) -> tuple[float, float]:
    """(steps per second of ``train_step`` on one device-resident batch, audio seconds in
    that batch)."""
    import torch

    batch = next(trainer.task.batches(0, trainer.info))
    batch = {k: v.to(trainer.device) if torch.is_tensor(v) else v for k, v in batch.items()}
    trainer.G.train()
    trainer.D.train()
    for i in range(window):
        trainer.train_step(i, batch)
    t, _ = ctx.timed(lambda: [trainer.train_step(window + i, batch) for i in range(window)])
    return window / t, float(batch["audio"].numel())


def train_corpus(ctx: Context) -> Path:
    """Speech-like 16 kHz wavs shared by the training items."""
    s = ctx.sizes
    folder = ctx.tmp / "train_corpus"
    if not folder.is_dir():
        n = s.train_files * s.train_file_seconds
        write_corpus(folder, n, s.train_files, (s.train_file_seconds,) * 2, 16000)
    return folder


def figure(
    ctx: Context, key: str, part: str, title: str, trainer: Any, out: Path, sample_rate: int
) -> Figure:
    w = ctx.sizes.train_window
    run_rate = logged_steps_per_s(out, 2 * w)
    alone_rate, samples = step_alone(ctx, trainer, w)
    per_step = samples / sample_rate
    return Figure(
        key=key,
        part=part,
        title=title,
        audio_s_per_s=run_rate * per_step,
        baseline="train_step alone, batch on device",
        baseline_audio_s_per_s=alone_rate * per_step,
        ratio=run_rate / alone_rate,
        ratio_kind="efficiency",
        extra={
            "steps_per_s": run_rate,
            "baseline_steps_per_s": alone_rate,
            "audio_s_per_step": per_step,
            "amp": trainer.cfg.amp,
            "window_steps": w,
        },
    )
