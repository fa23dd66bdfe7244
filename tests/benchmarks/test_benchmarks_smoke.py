"""Every script of benchmarks/ runs at toy size (``benchmarks/smoke.py``), is listed there, and
docs/performance.md's tables come from the scripts' JSON records (``benchmarks/report.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import report  # noqa: E402
import smoke  # noqa: E402


def test_every_script_is_in_the_smoke_run():
    assert smoke.listed_problems() == []
    assert set(report.BASELINES) == set(smoke.SCRIPTS) - {"gpu_suite.py"}


def record(script: str, headline: str, smoke_run: bool = False) -> dict:
    return {"script": script, "command": f"python benchmarks/{script}", "machine": "m",
            "date": "d", "smoke": smoke_run, "rows": [], "headline": headline}  # fmt: skip


def test_report_rewrites_only_the_figures_block(tmp_path):
    figs = tmp_path / "figures"
    figs.mkdir()
    (figs / "store_read.json").write_text(json.dumps(record("store_read.py", "1.5x")))
    doc = tmp_path / "performance.md"
    doc.write_text(f"intro\n{report.BEGIN}\nold table\n{report.END}\noutro\n")
    assert report.main(["--figures", str(figs), "--doc", str(doc), "--check"]) == 1
    assert report.main(["--figures", str(figs), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text
    assert "| `store_read.py` | 1.5x | an Arrow zero-copy" in text
    assert report.main(["--figures", str(figs), "--doc", str(doc), "--check"]) == 0
    (figs / "feed_throughput.json").write_text(json.dumps(record("feed.py", "x", True)))
    with pytest.raises(SystemExit, match="smoke"):
        report.main(["--figures", str(figs), "--doc", str(doc)])


def test_report_writes_every_feed_line_of_every_feed_record(tmp_path):
    figs = tmp_path / "figures"
    figs.mkdir()
    for name, batch, ratio in (("feed_throughput", 8, 4.5), ("feed_throughput_b32", 32, 5.5)):
        r = record("feed_throughput.py", f"{ratio}x")
        r["command"] = f"python benchmarks/feed_throughput.py --batch {batch}"
        r["rows"] = [
            {"line": "flatten, packed (numba)", "ours_Mtok_s": 25 * ratio, "ours_spread": "[a-b]",
             "baseline_Mtok_s": 25.0, "ratio": ratio},
            {"line": "flatten, packed, 1 worker", "ours_Mtok_s": 60.0},
        ]  # fmt: skip
        (figs / f"{name}.json").write_text(json.dumps(r))
    doc = tmp_path / "performance.md"
    doc.write_text(f"{report.BEGIN}\n{report.END}\n{report.FEED_BEGIN}\nold\n{report.FEED_END}\n")
    assert report.main(["--figures", str(figs), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "old" not in text
    assert (
        "| `python benchmarks/feed_throughput.py --batch 32` (d) | flatten, packed (numba) | "
        "137.5 [a-b] | 25.0 | 5.50x |" in text
    )
    assert text.count("|  | flatten, packed, 1 worker | 60.0  | - | - |") == 2


def test_the_committed_doc_is_up_to_date():
    assert report.main(["--check"]) == 0


def test_smoke_names_a_failing_script(tmp_path, monkeypatch):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nprint('half')\nsys.exit(3)\n")
    good = tmp_path / "good.py"
    good.write_text(
        "import json, sys\np = sys.argv[sys.argv.index('--json') + 1]\n"
        "open(p, 'w').write(json.dumps({'headline': 'fine'}))\nprint('fine')\n"
    )
    monkeypatch.setattr(smoke, "HERE", tmp_path)
    monkeypatch.setattr(smoke, "SCRIPTS", {"bad.py": [], "good.py": []})
    monkeypatch.setattr(smoke, "NOT_SCRIPTS", set())
    assert smoke.main(["--jobs", "1"]) == 1
    assert smoke.run_one("good.py", tmp_path, 60)[1] is None
    assert "exit 3" in (smoke.run_one("bad.py", tmp_path, 60)[1] or "")


@pytest.mark.slow
def test_smoke_runs_every_benchmark():
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "smoke.py")],
                       capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1].endswith("all ok")
