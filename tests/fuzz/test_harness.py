"""The fuzz harness itself: each kind of finding is caught, counts add up, runs repeat."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from harness import Reader, fuzz, report
from mutate import mutate_bytes, mutate_json, mutate_text

from audiotok.errors import AudiotokError


def _reader(tmp_path, call, **kw) -> Reader:
    return Reader("toy", "bytes", [b"0123456789"], tmp_path / "f.bin", call, **kw)


def test_every_kind_of_finding_is_caught(tmp_path):
    target = tmp_path / "f.bin"

    def other_type() -> None:
        raise KeyError("x")

    def multi_line() -> None:
        raise AudiotokError(f"{target}: a\nb")

    def unnamed() -> None:
        raise AudiotokError("no file named")

    def writes() -> None:
        (tmp_path / "stray.txt").write_text("x")

    def hangs() -> None:
        while True:
            pass

    def allocates() -> None:
        np.ones(1 << 30)  # 8 GB: past the address-space cap, fails at once

    cases = {
        "KeyError": other_type,
        "multi-line message": multi_line,
        "message does not name the file": unnamed,
        "write outside the output folder": writes,
        "hang": hangs,
        "memory": allocates,
    }
    for what, bad in cases.items():
        (tmp_path / "stray.txt").unlink(missing_ok=True)

        def call(bad=bad) -> None:  # the seed reads; the mutant misbehaves
            if target.read_bytes() != b"0123456789":
                bad()

        # two calls: the seed (warm-up, no limits) and one mutant, under the limits
        reader = _reader(tmp_path, call, names=(str(target),))
        res = fuzz(reader, tmp_path, max_mutants=2, warmup_timeout_s=1, call_timeout_s=1)
        assert [f.what for f in res.findings] == [what], (what, res.findings)
        assert res.findings[0].mutant == 1


def test_clean_reader_counts_and_repeats(tmp_path):
    def call() -> int:
        data = (tmp_path / "f.bin").read_bytes()
        if data != b"0123456789":
            raise AudiotokError(f"{tmp_path / 'f.bin'}: changed")
        return 1

    runs = [fuzz(_reader(tmp_path, call), tmp_path, seed=3, max_mutants=200) for _ in range(2)]
    a, b = runs
    assert a.mutants == 200 and a.errors + a.results == 200 and not a.findings
    assert a.results >= 1 and a.errors >= 150  # the seed reads; nearly every mutant differs
    assert (a.errors, a.results) == (b.errors, b.results)  # seeded: the same mutants
    text = report([a], tmp_path / "counts.json")
    assert "fuzz toy: 200 mutants" in text
    assert json.loads((tmp_path / "counts.json").read_text())["toy"]["mutants"] == 200


@pytest.mark.parametrize("mutate", [mutate_bytes, mutate_json, mutate_text])
def test_mutators_change_their_input(mutate):
    rng = random.Random(0)
    seed = b'{"a": [1, 2], "b": {"c": "x"}}\nline two\t3\n'
    out = [mutate(rng, seed) for _ in range(100)]
    assert sum(o != seed for o in out) >= 90
    assert all(isinstance(o, bytes) for o in out)


def test_equal_configs_build_once_apart_from_the_sampled_real_builds():
    import types
    from dataclasses import dataclass

    import torch
    from build_cache import memo_builds

    @dataclass
    class Cfg:
        width: int

    class Model(torch.nn.Module):
        def __init__(self, cfg: Cfg):
            super().__init__()
            if cfg.width < 1:
                raise ValueError("width must be >= 1")
            self.lin = torch.nn.Linear(cfg.width, 1)

    mod = types.SimpleNamespace(Model=Model)
    with memo_builds(mod, "Model", real_every=5) as stats:
        a = mod.Model(Cfg(3))
        assert mod.Model(Cfg(3)) is a  # equal config: the module already built
        assert mod.Model(Cfg(4)) is not a  # another config builds
        with torch.device("meta"):
            m = mod.Model(Cfg(3))
        assert m is not a and m.lin.weight.is_meta  # meta builds are kept apart
        assert mod.Model(Cfg(3)) is not a  # the 5th call builds anew (the sample)
        for _ in range(2):  # a config that fails is never cached: it fails every time
            with pytest.raises(ValueError, match="width"):
                mod.Model(Cfg(0))
    assert (stats.built, stats.reused) == (4, 1)
    assert mod.Model is Model  # restored
