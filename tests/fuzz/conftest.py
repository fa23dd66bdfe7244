"""Running a fuzz reader in a test: counts printed (visible with ``-rA``) and kept as JSON.

``AUDIOTOK_FUZZ_MUTANTS`` (default 5000) and ``AUDIOTOK_FUZZ_SECONDS`` (default 4, per
reader, after its seeds ran) bound each reader's run; the model-folder readers, which build a
model for each config that passes validation (once per config: ``build_cache.py``), get
``AUDIOTOK_FUZZ_FOLDER_SECONDS`` (default 15) to reach thousands of mutants too. The whole
folder takes about three minutes on two cores; raise the seconds for a longer hunt.
``AUDIOTOK_FUZZ_SEED`` (default 0) picks the mutants; ``AUDIOTOK_FUZZ_COUNTS=FILE`` appends one
JSON line per reader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from harness import Reader, describe, fuzz, report

MAX_MUTANTS = int(os.environ.get("AUDIOTOK_FUZZ_MUTANTS", "5000"))
BUDGET_S = float(os.environ.get("AUDIOTOK_FUZZ_SECONDS", "4"))
FOLDER_BUDGET_S = float(os.environ.get("AUDIOTOK_FUZZ_FOLDER_SECONDS", "15"))
SEED = int(os.environ.get("AUDIOTOK_FUZZ_SEED", "0"))
# the harness is broken, not the reader, when a reader gets fewer mutants than this
MIN_MUTANTS = 20


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny tensors on a shared 2-core machine are slower with two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def run_fuzz(tmp_path: Path):
    """``run_fuzz(reader, work)``: fuzz one reader, print its counts, fail on any finding;
    ``model_folder=True`` gives the reader the model-folder budget."""
    results = []

    def _run(
        reader: Reader,
        work: Path | None = None,
        min_mutants: int = MIN_MUTANTS,
        model_folder: bool = False,
    ) -> None:
        budget_s = FOLDER_BUDGET_S if model_folder else BUDGET_S
        res = fuzz(reader, work or tmp_path, seed=SEED, max_mutants=MAX_MUTANTS, budget_s=budget_s)
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
