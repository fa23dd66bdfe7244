"""Assignment equals brute-force nearest centroid (float64 sum of squares, lowest index on ties)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiotok.kmeans import Codebook
from audiotok.kmeans.assign import nearest


def brute_force(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    d = ((x.astype(np.float64)[:, None, :] - c.astype(np.float64)[None]) ** 2).sum(-1)
    return d.argmin(1)  # numpy's argmin returns the first minimum


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_data_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((50, 16)).astype(np.float32) * 3 + 5
    x = rng.standard_normal((3000, 16)).astype(np.float32) * 3 + 5
    got = nearest(torch.from_numpy(x), torch.from_numpy(c), chunk=700).numpy()
    np.testing.assert_array_equal(got, brute_force(x, c))


def test_exact_ties_go_to_the_lowest_index():
    rng = np.random.default_rng(0)
    # small integers: every distance is exact in float32 and float64, so ties are real ties
    c = rng.integers(-3, 4, size=(40, 8)).astype(np.float32)
    c[25] = c[7]  # duplicate centroid: points nearest to it must get 7, never 25
    c[33] = c[2]
    x = rng.integers(-3, 4, size=(5000, 8)).astype(np.float32)
    x[:40] = c  # points sitting on centroids
    # midpoints between two centroids with integer coordinates: equidistant by construction
    x[40:80] = c[:40] + (c[np.arange(40)[::-1]] - c[:40]) / 2
    bf = brute_force(x, c)
    d = ((x[:, None, :].astype(np.float64) - c[None].astype(np.float64)) ** 2).sum(-1)
    assert ((d == d.min(1, keepdims=True)).sum(1) > 1).sum() > 500, "want many real ties"
    got = nearest(torch.from_numpy(x), torch.from_numpy(c)).numpy()
    np.testing.assert_array_equal(got, bf)
    assert not (got == 25).any() and not (got == 33).any()


def test_near_ties_that_float32_expansion_gets_wrong():
    # large offset + tiny differences: ||c||^2 - 2 x.c in float32 cannot separate these
    rng = np.random.default_rng(3)
    base = np.full(64, 1000.0)
    c = (base + rng.standard_normal((20, 64)) * 1e-2).astype(np.float32)
    x = (base + rng.standard_normal((4000, 64)) * 1e-2).astype(np.float32)
    naive = (c.astype(np.float32) ** 2).sum(1)[None] - 2 * x @ c.T
    bf = brute_force(x, c)
    assert (naive.argmin(1) != bf).any(), "the test data must defeat the naive float32 path"
    got = nearest(torch.from_numpy(x), torch.from_numpy(c), chunk=512).numpy()
    np.testing.assert_array_equal(got, bf)


def test_float64_input_uses_its_own_precision():
    rng = np.random.default_rng(4)
    c = rng.standard_normal((10, 4)).astype(np.float32)
    x = rng.standard_normal((500, 4))
    got = nearest(torch.from_numpy(x), torch.from_numpy(c)).numpy()
    np.testing.assert_array_equal(got, brute_force(x, c))


def test_codebook_assign_keeps_batch_shape_and_normalises():
    rng = np.random.default_rng(5)
    c = rng.standard_normal((12, 6)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    cb = Codebook(torch.from_numpy(c), {"normalize": "l2"})
    feats = rng.standard_normal((3, 7, 6)).astype(np.float32) * 10
    units = cb.assign(torch.from_numpy(feats))
    assert units.shape == (3, 7)
    xn = feats.reshape(-1, 6) / np.linalg.norm(feats.reshape(-1, 6), axis=1, keepdims=True)
    np.testing.assert_array_equal(units.reshape(-1).numpy(), brute_force(xn, c))
    # cosine: the unit is the centroid with the largest cosine similarity
    np.testing.assert_array_equal(units.reshape(-1).numpy(), (xn @ c.T).argmax(1))
