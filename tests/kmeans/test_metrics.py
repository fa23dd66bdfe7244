"""PNMI and purities on a hand-computed example; usage, entropy, frame-to-phone mapping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiotok.kmeans import Codebook
from audiotok.kmeans.evaluate import evaluate
from audiotok.kmeans.metrics import frame_phone_stats, frame_phones, phone_stats, usage_stats


@pytest.mark.parametrize("counted", ["joint matrix", "frame pairs"])
def test_phone_stats_hand_example(counted):
    # 6 frames. unit 0: phone A x3, B x1; unit 1: phone B x2.  rows = phones, cols = units
    joint = np.array([[3, 0], [1, 2]])
    if counted == "joint matrix":  # kmeans eval
        r = phone_stats(joint)
    else:  # eval codebooks (prefixes of codebooks: sparse pairs), same computation
        r = frame_phone_stats(np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 0, 1, 1]))
    assert r["aligned_frames"] == 6 and r["phones"] == 2
    # phone purity: p(z0) max p(y|z0) + p(z1) max p(y|z1) = 4/6 * 3/4 + 2/6 * 1 = 5/6
    assert r["phone_purity"] == pytest.approx(5 / 6)
    # cluster purity: p(A) max p(z|A) + p(B) max p(z|B) = 1/2 * 1 + 1/2 * 2/3 = 5/6
    assert r["cluster_purity"] == pytest.approx(5 / 6)
    # I(y;z) = 1/2 log2(1.5) + 1/6 log2(0.5) + 1/3 log2(2) = 0.459148 bits; H(y) = 1 bit
    assert r["mutual_information_bits"] == pytest.approx(0.4591479, abs=1e-6)
    assert r["pnmi"] == pytest.approx(0.4591479, abs=1e-6)
    assert r["phone_entropy_bits"] == pytest.approx(1.0)


def test_phone_stats_extremes():
    assert phone_stats(np.eye(4) * 5)["pnmi"] == pytest.approx(1.0)  # units are phones
    independent = np.outer([1, 3], [2, 2, 4])  # p(y, z) = p(y) p(z)
    assert phone_stats(independent)["pnmi"] == pytest.approx(0.0, abs=1e-12)


def test_usage_entropy_dead_and_tiny():
    r = usage_stats(np.array([50, 50, 0, 1, 99]))  # 200 frames, uniform share 40
    assert r["dead"] == 1 and r["used"] == 4
    assert r["tiny"] == 1  # 1 < 0.1 * 40
    p = np.array([50, 50, 1, 99]) / 200
    assert r["entropy_bits"] == pytest.approx(float(-(p * np.log2(p)).sum()))
    assert usage_stats(np.array([7, 7, 7, 7]))["entropy_bits"] == pytest.approx(2.0)


def test_frame_phones_by_centre_time():
    segs = [(0.0, 0.05, "sil"), (0.05, 0.08, "a"), (0.10, 0.2, "b")]
    # 100 frames/s, 25 ms windows: centres at 0.0125, 0.0225, ..., i/100 + 0.0125
    got = frame_phones(segs, 12, 100.0, 0.025)
    want = ["sil"] * 4 + ["a"] * 3 + [None] * 2 + ["b"] * 3
    assert got == want


def test_evaluate_with_alignments(tmp_path):
    c = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    cb = Codebook(c, {})
    # 6 frames at 10 frames/s with 0 window: centres at 0.0 .. 0.5
    x = np.array([[0, 0], [0, 1], [1, 0], [9, 0], [10, 1], [11, 0]], dtype=np.float32)
    (tmp_path / "u1.tsv").write_text("0.0\t0.3\tA\n0.3\t0.6\tB\n")
    r = evaluate(
        cb, iter([("u1", x), ("u2", x[:2])]), frame_rate=10.0, align_dir=tmp_path, window_s=0.0
    )
    assert r["utterances"] == 2 and r["aligned_utterances"] == 1 and r["frames"] == 8
    assert r["inertia"] == pytest.approx(1 + 1 + 1 + 1 + 1 + 1)
    assert r["pnmi"] == pytest.approx(1.0) and r["phone_purity"] == pytest.approx(1.0)
    assert r["usage"] == [5, 3]
    h = -(5 / 8 * math.log2(5 / 8) + 3 / 8 * math.log2(3 / 8))
    assert r["entropy_bits"] == pytest.approx(h) and r["bitrate_bps"] == pytest.approx(10 * h)
