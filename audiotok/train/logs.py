"""What a training run reports: JSON-lines metrics, TensorBoard, a progress display.

``metrics.jsonl`` gets one object per logged step (``{"step": ..., "time": ..., name: value}``),
appended, so a resumed run continues the same file. TensorBoard scalars go to ``tb/`` when
``torch.utils.tensorboard`` can be imported (the ``tensorboard`` package). Progress is a rich
bar on a terminal and one plain line per log interval otherwise (logs, CI, ``nohup``).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any


class MetricsLog:
    def __init__(self, out_dir: Path, tensorboard: bool | None = None):
        self.path = out_dir / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tb: Any = None
        if tensorboard is not False:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                if tensorboard:
                    from audiotok.errors import AudiotokError

                    raise AudiotokError(
                        "TensorBoard logging needs the tensorboard package: pip install "
                        "tensorboard (or drop --tensorboard)"
                    ) from None
            else:
                self._tb = SummaryWriter(str(out_dir / "tb"))

    def write(self, step: int, values: dict[str, float]) -> None:
        clean = {k: (float(v) if math.isfinite(float(v)) else None) for k, v in values.items()}
        record = {"step": step, "time": round(time.time(), 3), **clean}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in clean.items():
                if v is not None:
                    self._tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: Path) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Progress:
    """A rich progress bar on a TTY, plain lines every ``log_every`` steps otherwise."""

    def __init__(self, total: int, start: int, enabled: bool = True, desc: str = "training"):
        self.total, self.enabled, self.desc = total, enabled, desc
        self.tty = enabled and sys.stderr.isatty()
        self._t0, self._s0 = time.monotonic(), start
        self._bar: Any = None
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn(desc),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._task = self._bar.add_task(desc, total=total, completed=start, info="")
            self._bar.start()

    def update(self, step: int, values: dict[str, float] | None = None) -> None:
        info = "  ".join(f"{k} {v:.4g}" for k, v in (values or {}).items())
        if self._bar is not None:
            self._bar.update(self._task, completed=step, info=info)
        elif self.enabled and values is not None:
            rate = (step - self._s0) / max(1e-9, time.monotonic() - self._t0)
            print(
                f"{self.desc} step {step}/{self.total} ({rate:.2f} steps/s)  {info}",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
