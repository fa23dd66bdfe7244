"""benchmarks/abx.py cannot rot: its toy size runs audiotok and the reference on the same
input, writes its JSON, and ends with the headline ratio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_abx_benchmark_toy_run(tmp_path):
    out = tmp_path / "abx.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "abx.py"), "--smoke", "--threads", "1",
         "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("audiotok ABX is ") and "zerospeech-libriabx2" in last
    record = json.loads(out.read_text())
    assert record["headline"] == last and record["smoke"]
    (r,) = record["rows"]
    assert r["audiotok_s"] > 0 and r["reference_s"] > 0
    assert r["speedup"] == pytest.approx(r["reference_s"] / r["audiotok_s"])
    ours, ref = r["scores"]["audiotok"], r["scores"]["reference"]
    # the toy groups are small: triphone scores need no random draw, so they are equal
    assert ours["triphone_within"] == pytest.approx(ref["triphone_within"], abs=0.1)
