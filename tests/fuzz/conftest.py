"""Running a fuzz reader in a test: counts printed (visible with ``-rA``) and kept as JSON.

``AUDIOTOK_FUZZ_MUTANTS`` (default 2000) and ``AUDIOTOK_FUZZ_SECONDS`` (default 10, per
reader) bound each reader's run; ``AUDIOTOK_FUZZ_SEED`` (default 0) picks the mutants.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from mutate import Reader, describe, fuzz, report

MAX_MUTANTS = int(os.environ.get("AUDIOTOK_FUZZ_MUTANTS", "2000"))
BUDGET_S = float(os.environ.get("AUDIOTOK_FUZZ_SECONDS", "10"))
SEED = int(os.environ.get("AUDIOTOK_FUZZ_SEED", "0"))
# the harness is broken, not the reader, when a reader gets fewer mutants than this
MIN_MUTANTS = min(MAX_MUTANTS, 50)


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny tensors on a shared 2-core machine are slower with two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def run_fuzz(tmp_path: Path):
    """``run_fuzz(reader, work)``: fuzz one reader, print its counts, fail on any finding."""
    results = []

    def _run(reader: Reader, work: Path | None = None, min_mutants: int = MIN_MUTANTS) -> None:
        res = fuzz(reader, work or tmp_path, seed=SEED, max_mutants=MAX_MUTANTS, budget_s=BUDGET_S)
        results.append(res)
        summary = report(results, tmp_path / "fuzz-counts.json")
        print(summary)
        _append_session_counts(res)
        assert not res.findings, describe(res)
        assert res.mutants >= min(min_mutants, MAX_MUTANTS), res.line()

    return _run


def _append_session_counts(res) -> None:
    """One JSON line per reader in ``$AUDIOTOK_FUZZ_COUNTS`` when set (CI keeps the file)."""
    path = os.environ.get("AUDIOTOK_FUZZ_COUNTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"reader": res.reader, "mutants": res.mutants,
                                "seconds": round(res.seconds, 2),
                                "findings": len(res.findings)}) + "\n")  # fmt: skip
