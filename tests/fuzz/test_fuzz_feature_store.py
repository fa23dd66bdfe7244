"""Fuzzed feature stores (``audiotok extract`` output): the commit record, a shard's ``.tsv``
rows and its ``.npy`` frames, read by iteration and by the fairseq export (which may write
only into its output folder, and never a file sized by a damaged length field)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from harness import Reader

from audiotok.store import FeatureWriter, open_features

HEADER = {
    "extractor": "mfcc",
    "layers": [None],
    "dim": 3,
    "frame_rate": 100.0,
    "sample_rate": 16000,
    "weights_sha256": "",
}


def _store(root: Path) -> Path:
    d = root / "feats"
    w = FeatureWriter(d, HEADER, shard_size=2)
    rng = np.random.default_rng(0)
    for i in range(3):
        w.add(f"u{i}", f"u{i}.wav", 1600 * (i + 1), {None: rng.standard_normal((4 + i, 3))})
    w.close()
    return d


@pytest.mark.slow
@pytest.mark.parametrize(("name", "file", "kind"), [
    ("features-record", ".manifest.json", "json"),
    ("features-tsv", "shard-000000.tsv", "text"),
    ("features-npy", "features/shard-000000.npy", "bytes"),
])  # fmt: skip
def test_fuzzed_feature_store(tmp_path, run_fuzz, name, file, kind):
    d = _store(tmp_path)
    target = d / file
    out = tmp_path / "export"

    def call() -> list:
        fs = open_features(d)
        got = [(i, f.shape) for i, f in fs]
        fs.export_fairseq(out)
        return got

    def check(got) -> None:
        for _, shape in got:
            assert len(shape) == 2 and shape[1] == HEADER["dim"], shape

    run_fuzz(
        Reader(
            name,
            kind,
            [target.read_bytes()],
            target,
            call,
            names=(str(d),),
            check=check,
            out=out,
            reset=lambda: shutil.rmtree(out, ignore_errors=True),
        )  # fmt: skip
    )
