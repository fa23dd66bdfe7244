"""What every benchmark script shares: the ``--json PATH`` and ``--smoke`` options, the record
it writes (script, command, machine, date, rows of figures, headline) and the headline line
it prints last. ``benchmarks/report.py`` turns those records into docs/performance.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any


def add_options(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    ap.add_argument("--json", type=Path, default=None, help="write the figures to this file")
    ap.add_argument("--smoke", action="store_true", help="toy sizes: seconds, figures mean nothing")
    return ap


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, load {load:.1f}"


def finish(
    args: argparse.Namespace,
    name: str,
    rows: list[dict[str, Any]],
    headline: str,
    *,
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
) -> None:
    """Write the record (when ``--json``) and print the headline as the last line."""
    record = {
        "script": name,
        "command": " ".join(
            shlex.quote(a) for a in ["python", "benchmarks/" + name, *sys.argv[1:]]
        ),
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "smoke": bool(getattr(args, "smoke", False)),
        "rows": rows,
        "headline": headline,
        "ratio": ratio,
        "target": target,
        "met": met,
    }
    if getattr(args, "json", None):
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(record, indent=1, default=float) + "\n")
    print(headline, flush=True)
