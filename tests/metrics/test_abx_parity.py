"""audiotok's ABX equals the libri-light reference (``zerospeech-libriabx2``, in the [test]
extra) on the same features and item file, in all four conditions, within 0.1 point.

Both are run without random draws (groups no larger than ``max_size_group``, every other
speaker as X), and audiotok is handed the utterances in the order the reference lists
their files: within a speaker, d(A_i, A_j) is the DTW of the earlier token against the
later one in both, which matters for the asymmetric KL divergence."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from abx_synth import RATE, corpus

from audiotok.metrics.abx import abx
from audiotok.metrics.abx_items import write_item_file

CONDITIONS = {  # audiotok's name -> the reference's "<speaker>-<context>"
    "triphone_within": "within-within",
    "triphone_across": "across-within",
    "phoneme_within": "within-any",
    "phoneme_across": "across-any",
}


def reference_scores(folder: Path, item_file: Path, distance: str) -> tuple[dict, list[str]]:
    from zrc_abx2.ABX_src.models import Pooling
    from zrc_abx2.eval_ABX import EvalABX, _load_npy

    ev = EvalABX()
    files = ev._find_all_files(str(folder), ".npy")
    with contextlib.redirect_stdout(io.StringIO()):
        scores = ev._ABX(
            Pooling.NONE, 3459, _load_npy, str(item_file), files, distance, RATE,
            ["within", "across"], ["within", "any"], max_x_across=100, max_size_group=100,
        )  # fmt: skip
    return {k: 100 * v for k, v in scores.items()}, [f for f, _ in files]


@pytest.fixture(autouse=True)
def one_thread():
    """Two OpenMP threads on a shared 2-core machine wait on each other (tests/vocoders)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("distance", "posteriors"),
    [("cosine", False), ("euclidean", False), ("kl", True), ("kl_symmetric", True)],
)
def test_abx_equals_libri_light_reference(tmp_path, distance, posteriors):
    feats, _, items = corpus(utterances=2, length=12, posteriors=posteriors)
    for uid, x in feats.items():
        np.save(tmp_path / f"{uid}.npy", x)
    item_file = write_item_file(items, tmp_path / "synth.item")
    ref, order = reference_scores(tmp_path, item_file, distance)
    # the reference L2-normalises every distance's input; audiotok does by default for cosine
    ours = abx(
        [(u, feats[u]) for u in order], items, RATE, distance=distance, normalize=True,
        max_size_group=100, max_x_across=100,
    )  # fmt: skip
    for name, ref_name in CONDITIONS.items():
        assert ours["scores"][name] == pytest.approx(ref[ref_name], abs=0.1), name
    # a real test: the conditions differ and are neither 0 nor chance
    assert 0 < ours["scores"]["triphone_within"] < 45
    assert len({round(v, 3) for v in ours["scores"].values()}) > 1
