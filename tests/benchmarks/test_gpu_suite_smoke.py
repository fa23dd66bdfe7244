"""benchmarks/gpu_suite.py cannot rot: every part runs at toy size on the CPU, from a copy of
the source tree (no install: the bootstrap maps cli/, kmeans/, vocoders/ into audiotok), with
a carried wheel unpacked; a part that breaks fails the run, naming it."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
ITEMS = {
    "extract.hubert-base-ls960",
    "extract.wavlm-large",
    "pipeline.encode",
    "kmeans.torch",
    "kmeans.faiss",
    "kmeans.assign",
    "codec.encodec-24khz",
    "codec.dac-44khz",
    "vocoder.decode",
    "vocoder.train",
    "hybrid.train",
}
MAPPED = ("audiotok", "audiotok.cli", "audiotok.kmeans", "audiotok.vocoders")


def make_wheel(folder: Path, name: str = "suiteprobe") -> Path:
    """A minimal pure-Python wheel: one module, one file under .data/purelib."""
    folder.mkdir(parents=True, exist_ok=True)
    whl = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr(f"{name}/__init__.py", "VALUE = 41\n")
        z.writestr(f"{name}-1.0.data/purelib/{name}_extra.py", "VALUE = 42\n")
        z.writestr(f"{name}-1.0.dist-info/METADATA", f"Name: {name}\nVersion: 1.0\n")
    return whl


def copy_tree(dest: Path) -> Path:
    """The parts of a checkout that travel to a GPU node (no venv, no install)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for d in ("audiotok", "cli", "kmeans", "vocoders", "benchmarks"):
        shutil.copytree(ROOT / d, dest / d, ignore=skip)
    (dest / "tests" / "extractors").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "audio_fixtures.py", dest / "tests")
    shutil.copy(ROOT / "tests" / "extractors" / "s3m_tiny.py", dest / "tests" / "extractors")
    (dest / "tests" / "codecs").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "codecs" / "codec_reference.py", dest / "tests" / "codecs")
    shutil.copy(ROOT / "pyproject.toml", dest)
    return dest


@pytest.mark.slow
def test_smoke_suite_runs_every_part_from_a_bare_tree(tmp_path):
    tree = copy_tree(tmp_path / "tree")
    wheel = make_wheel(tmp_path / "wheels")
    out = tmp_path / "smoke.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUDIOTOK_HOME")}
    env["AUDIOTOK_HOME"] = str(tmp_path / "home")
    cmd = [sys.executable, str(tree / "benchmarks" / "gpu_suite.py"), "--smoke"]
    cmd += ["--json", str(out), "--wheels", str(wheel.parent)]
    r = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True and report["ok"] is True
    figures = {f["key"]: f for f in report["figures"]}
    assert set(figures) == ITEMS
    for key, f in figures.items():
        if f["status"] == "skipped":
            assert f["reason"], key
            continue
        assert f["status"] == "ok", (key, f["reason"])
        for name in ("audio_s_per_s", "baseline_audio_s_per_s", "ratio"):
            v = f[name]
            assert isinstance(v, float) and math.isfinite(v) and v > 0, (key, name, v)
        assert f["baseline"] and f["toy"] is True and f["met"] is None
        assert f["title"] in r.stdout
    # the venv here has every package: nothing may be skipped on this machine
    assert [k for k, f in figures.items() if f["status"] != "ok"] == []
    assert figures["extract.hubert-base-ls960"]["target"] == 5.0
    assert figures["pipeline.encode"]["target"] == 0.8
    assert figures["kmeans.torch"]["target"] == 0.5
    assert figures["codec.encodec-24khz"]["extra"]["codes_equal"] == 1.0  # CPU: exact
    env_ = report["environment"]
    assert env_["wheels"] == [wheel.name]
    for mod in MAPPED:  # loaded from the copy, not from the checkout the venv installed
        assert Path(env_["source"][mod]).resolve().is_relative_to(tree.resolve()), mod
    assert "total" in r.stdout


@pytest.fixture
def suite(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import gpu_suite

    return gpu_suite


def test_a_broken_part_fails_the_run_naming_it(suite, tmp_path, monkeypatch):
    import torch
    from gpu_parts.common import Figure, Item, Skip

    def broken(ctx):
        raise RuntimeError("kaboom")

    def zero(ctx):
        return Figure("x", "x", "zero rate", audio_s_per_s=0.0, baseline_audio_s_per_s=1.0,
                      ratio=1.0)  # fmt: skip

    def cannot(ctx):
        raise Skip("not here")

    items = [
        Item("t.broken", "t", "broken", (), broken),
        Item("t.zero", "t", "zero", (), zero),
        Item("t.skip", "t", "skip", (), cannot),
        Item("t.missing", "t", "missing", ("no_such_module_xyz",), broken),
    ]
    monkeypatch.setattr(suite, "ITEMS", items)
    monkeypatch.setattr(suite, "PARTS", ["t"])
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    out = tmp_path / "r.json"
    argv = ["--smoke", "--json", str(out), "--wheels", str(tmp_path / "none")]
    rc = suite.main([*argv, "--threads", str(torch.get_num_threads())])
    assert rc == 1
    got = {f["key"]: f for f in json.loads(out.read_text())["figures"]}
    assert got["t.broken"]["status"] == "failed" and "kaboom" in got["t.broken"]["reason"]
    assert got["t.zero"]["status"] == "failed"
    assert "audio_s_per_s is 0.0" in got["t.zero"]["reason"]
    assert got["t.zero"]["audio_s_per_s"] is None  # never a zero presented as a figure
    assert got["t.skip"] == {**got["t.skip"], "status": "skipped", "reason": "not here"}
    assert got["t.missing"]["status"] == "skipped"
    assert "no_such_module_xyz" in got["t.missing"]["reason"]
    assert json.loads(out.read_text())["ok"] is False


def test_source_tree_mapping_and_wheels(suite, tmp_path, monkeypatch):
    import source_tree

    # the Python 3.10 copy agrees with pyproject.toml's package-dir
    assert source_tree.package_dirs() == source_tree.PACKAGE_DIRS
    finder = source_tree.SourceTreeFinder(ROOT, source_tree.PACKAGE_DIRS)
    spec = finder.find_spec("audiotok.kmeans")
    assert spec is not None and spec.origin == str(ROOT / "kmeans" / "__init__.py")
    assert spec.submodule_search_locations == [str(ROOT / "kmeans")]
    assert finder.find_spec("audiotok.store") is None  # only the mapped names

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    wheel = make_wheel(tmp_path / "w", "suiteprobe2")
    names = source_tree.unpack_wheels(wheel.parent, tmp_path / "site")
    assert names == [wheel.name]
    assert sys.path[0] == str(tmp_path / "site")
    assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "site"), "/elsewhere"]
    import suiteprobe2
    import suiteprobe2_extra  # moved out of .data/purelib

    assert (suiteprobe2.VALUE, suiteprobe2_extra.VALUE) == (41, 42)
    assert source_tree.unpack_wheels(tmp_path / "empty", tmp_path / "site2") == []


def test_device_cuda_without_a_gpu_is_a_usage_error(suite, tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as e:
        suite.main(["--smoke", "--device", "cuda", "--wheels", str(tmp_path / "none")])
    assert e.value.code == 2
    assert "torch sees no CUDA GPU" in capsys.readouterr().err
