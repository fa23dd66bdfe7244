"""The examples a user copies keep working."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_semantic_pipeline_example(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "semantic_pipeline.py"),
            str(ROOT / "examples" / "corpus"),
            str(tmp_path),
            "-k",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "encoded 6 utterances" in r.stdout
    assert len([line for line in r.stdout.splitlines() if "deduplicated units" in line]) == 6
    assert (tmp_path / "km20.safetensors").is_file()
