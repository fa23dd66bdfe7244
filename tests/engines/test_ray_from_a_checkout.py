"""--engine ray from a folder that holds a folder named ``audiotok`` (a checkout): the actors
import the installed package, not that folder (#25)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from engine_helpers import requires_ray

import audiotok

pytestmark = [requires_ray, pytest.mark.slow]  # starts a Ray of its own (tens of seconds)


def test_ray_actors_import_the_installed_package(small_corpus, tmp_path):
    here = tmp_path / "checkout"
    (here / "audiotok").mkdir(parents=True)
    (here / "audiotok" / "__init__.py").write_text(
        "raise ImportError('the folder in the working directory was imported')\n"
    )
    exe = shutil.which("audiotok", path=str(Path(sys.executable).parent))
    assert exe, "the audiotok console script"
    env = {**os.environ, "RAY_ADDRESS": ""}
    r = subprocess.run([exe, "encode", str(small_corpus), "-o", str(tmp_path / "tok"),
                        "--engine", "ray", "--actors", "1", "--num-workers", "0", "-q"],
                       cwd=here, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(audiotok.open_tokens(str(tmp_path / "tok"))) == 6
