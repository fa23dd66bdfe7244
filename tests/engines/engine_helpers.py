"""What the engine tests share: the CLI in-process, and a store's content to compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import audiotok
from audiotok.cli.app import run as cli_run


def cli(*args: Any) -> int:
    """``audiotok ARGS`` in this process (so a Ray the test started is the one it uses)."""
    return cli_run([str(a) for a in args])


def token_content(store: Path) -> dict[str, Any]:
    """Everything a token store says about its utterances, independent of how its rows were
    cut into shards: codes, paths, durations and frames by id, errors, audio root."""
    ts = audiotok.open_tokens(str(store))
    codes = {i: np.array(c) for i, c in ts}
    rows = {}
    for f in sorted(store.glob("shard-*.parquet")):
        t = pq.read_table(f, columns=["id", "path", "duration_s", "num_frames"]).to_pylist()
        rows.update({r["id"]: (r["path"], r["duration_s"], r["num_frames"]) for r in t})
    rec = json.loads((store / ".manifest.json").read_text())
    return {
        "codes": codes,
        "rows": rows,
        "errors": rec["errors"],
        "audio_root": rec["audio_root"],
        "num_utterances": rec["num_utterances"],
        "spec": rec["spec"],
        "recipe": rec["recipe"],
    }


def assert_same_store(a: Path, b: Path) -> None:
    x, y = token_content(a), token_content(b)
    assert sorted(x["codes"]) == sorted(y["codes"])
    for i, c in x["codes"].items():
        np.testing.assert_array_equal(c, y["codes"][i], err_msg=i)
    for key in ("rows", "errors", "audio_root", "num_utterances", "spec", "recipe"):
        assert x[key] == y[key], key


def record(store: Path) -> dict[str, Any]:
    return json.loads((store / ".manifest.json").read_text())


def shard_files(store: Path) -> dict[str, float]:
    """Every shard file of a store with its modification time (to see that none changed)."""
    return {
        p.relative_to(store).as_posix(): p.stat().st_mtime_ns
        for p in store.rglob("shard-*")
        if p.is_file()
    }


requires_ray = pytest.mark.skipif(
    __import__("importlib").util.find_spec("ray") is None,
    reason="the Ray engine needs the [ray] extra (pip install -e '.[ray]')",
)
