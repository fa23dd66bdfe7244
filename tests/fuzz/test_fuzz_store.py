"""Fuzzed token stores: the commit record, the Parquet shards and the flat ``.codes`` copies.

Each mutant is read the way a user reads a store (open, iterate, every row, ``get`` by id);
``audiotok info`` on a mutated record and shard must exit 0, 1 or 2, never 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from harness import Reader

from audiotok.cli.app import run
from audiotok.spec import TokenSpec
from audiotok.store import TokenStore, TokenWriter

SPEC = TokenSpec("acoustic", "codec", 24000, 75.0, 2, 1024, weights_sha256="cd")


def _store(root: Path) -> Path:
    d = root / "store"
    w = TokenWriter(d, SPEC, shard_size=2)
    rng = np.random.default_rng(0)
    for i in range(3):
        w.add(f"spk/u{i}", f"spk/u{i}.wav", 0.1 * (i + 1), rng.integers(0, 1024, (2, 3 + 2 * i)))
    w.close()
    return d


def _read_all(d: Path) -> list[tuple[str, np.ndarray]]:
    ts = TokenStore(d)
    got = list(ts)
    rows = list(ts.rows())
    for utt_id in ts.ids():
        ts.get(utt_id)
        ts.row(utt_id)
    assert len(rows) == len(got)
    return got


def _codes_are_k_by_t(got: list[tuple[str, np.ndarray]]) -> None:
    for _, c in got:
        assert c.ndim == 2 and c.shape[0] == SPEC.num_codebooks, c.shape


def _legacy(d: Path) -> None:
    """The record of an audiotok 0.1 store: shards without a flat copy (Parquet decoding)."""
    rec = json.loads((d / ".manifest.json").read_text())
    for s in rec["shards"]:
        s["files"] = {k: v for k, v in s["files"].items() if not k.endswith(".npy")}
    (d / ".manifest.json").write_text(json.dumps(rec))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "file", "kind", "legacy"),
    [
        ("store-record", ".manifest.json", "json", False),
        ("store-record-bytes", ".manifest.json", "bytes", False),
        ("store-parquet", "shard-000000.parquet", "bytes", False),
        ("store-parquet-legacy", "shard-000000.parquet", "bytes", True),
        ("store-codes", ".codes/shard-000000.npy", "bytes", False),
    ],
)
def test_fuzzed_store_files(tmp_path, run_fuzz, name, file, kind, legacy):
    d = _store(tmp_path)
    if legacy:
        _legacy(d)
    target = d / file
    run_fuzz(
        Reader(
            name,
            kind,
            [target.read_bytes()],
            target,
            lambda: _read_all(d),
            names=(str(d),),
            check=_codes_are_k_by_t,
        )
    )


@pytest.mark.slow
@pytest.mark.parametrize(("name", "file", "kind"), [("cli-info-record", ".manifest.json", "json")])
def test_fuzzed_store_cli_info(tmp_path, run_fuzz, capsys, name, file, kind):
    """``audiotok info --check``: exit 0 (intact), 1 (broken shards) or 2 (error), one line."""
    d = _store(tmp_path)
    target = d / file

    def call() -> int:
        capsys.readouterr()
        return run(["info", str(d), "--check"])

    def check(rc: int) -> None:
        err = capsys.readouterr().err
        assert rc in (0, 1, 2), f"exit {rc}: {err}"
        if rc == 2:
            assert err.count("\n") == 1 and err.startswith("error: "), err

    # a whole CLI run per mutant (typer builds its command tree each time, ~0.1 s): fewer
    run_fuzz(Reader(name, kind, [target.read_bytes()], target, call, check=check), min_mutants=10)
