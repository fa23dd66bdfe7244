"""Training: known blobs recovered by every backend present, seeded runs reproduce."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiotok.errors import AudiotokError
from audiotok.kmeans.backends import init_centroids, resolve
from audiotok.kmeans.train import train, train_faiss

CPU_BACKENDS = ["faiss-cpu", "torch"]


def blobs(k=8, dim=12, per=200, seed=0, spread=0.05):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim)).astype(np.float32) * 5
    lab = np.repeat(np.arange(k), per)
    x = centres[lab] + rng.standard_normal((k * per, dim)).astype(np.float32) * spread
    perm = rng.permutation(len(x))
    return x[perm], lab[perm], centres


def match(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each true centre, the distance to the closest found centroid."""
    d = np.linalg.norm(truth[:, None] - found[None], axis=-1)
    return d.min(1)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_blobs_are_recovered(backend):
    x, lab, centres = blobs()
    init = "kmeans++"
    cb = train(x, 8, backend=backend, niter=25, nredo=3, seed=1, init=init)
    c = cb.centroids.numpy()
    assert match(c, centres).max() < 0.05  # every true centre has a centroid on it
    units = cb.assign(torch.from_numpy(x)).numpy()
    # one unit per blob: the partition is the true one up to relabelling
    pairs = set(zip(lab.tolist(), units.tolist(), strict=True))
    assert len(pairs) == 8 and len({u for _, u in pairs}) == 8
    assert sorted(cb.meta["usage"]) == [200] * 8
    assert cb.meta["backend"] == backend and cb.meta["init"] == init
    assert cb.meta["num_samples"] == len(x)
    assert cb.meta["inertia"] == pytest.approx(((x - c[units]) ** 2).sum(), rel=1e-4)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_seeded_runs_reproduce_and_seeds_matter(backend):
    x, _, _ = blobs(k=20, per=60, spread=2.0, seed=3)  # overlapping: the result depends on init
    a = train(x, 20, backend=backend, niter=5, seed=11)
    b = train(x, 20, backend=backend, niter=5, seed=11)
    other = train(x, 20, backend=backend, niter=5, seed=12)
    assert torch.equal(a.centroids, b.centroids)
    assert a.meta["inertia"] == b.meta["inertia"]
    assert not torch.equal(a.centroids, other.centroids)


def test_backends_agree_from_the_same_init():
    x, _, _ = blobs(k=10, per=80, spread=1.0, seed=4)
    f = train(x, 10, backend="faiss-cpu", niter=10, seed=5)
    t = train(x, 10, backend="torch", niter=10, seed=5)
    assert f.meta["inertia"] == pytest.approx(t.meta["inertia"], rel=1e-3)


def test_spherical_gives_unit_centroids_and_l2_header():
    x, _, _ = blobs(seed=6)
    cb = train(x, 8, backend="torch", niter=10, spherical=True)
    np.testing.assert_allclose(cb.centroids.norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert cb.meta["spherical"] is True and cb.meta["normalize"] == "l2"


def test_random_init_takes_distinct_data_points():
    x, _, _ = blobs(k=4, per=50, spread=1.0)
    c0 = init_centroids(torch.from_numpy(x), 30, "random", seed=2).numpy()
    rows = {tuple(r) for r in c0}
    assert len(rows) == 30 and rows <= {tuple(r) for r in x}
    cb = train(x, 30, backend="torch", niter=3, init="random", seed=2)
    assert cb.meta["init"] == "random" and len(cb.meta["usage"]) == 30


def test_kmeanspp_spreads_initial_centroids():
    x, lab, centres = blobs(k=16, per=100, seed=7)
    c0 = init_centroids(torch.from_numpy(x), 16, "kmeans++", seed=0).numpy()
    # with well separated blobs k-means++ picks one point from (almost) every blob
    assert (match(c0, centres) < 1.0).sum() >= 14


def test_errors_name_the_problem():
    x, _, _ = blobs(k=2, per=3)
    with pytest.raises(AudiotokError, match="at least k=10"):
        train(x, 10, backend="torch")
    with pytest.raises(AudiotokError, match="--backend"):
        resolve("cuda-magic")
    with pytest.raises(AudiotokError, match="normalize"):
        train(x, 2, normalize="zscore")


def test_train_faiss_keeps_the_shipped_codebook_script_working():
    x, _, _ = blobs(seed=8)
    cb = train_faiss(x, 8, niter=20, seed=0, meta={"extractor": "mfcc", "layer": None})
    again = train_faiss(x, 8, niter=20, seed=0)
    assert torch.equal(cb.centroids, again.centroids)  # the shipped asset is reproducible
    assert cb.meta["extractor"] == "mfcc" and cb.meta["backend"] == "faiss-cpu"
    units = cb.assign(torch.from_numpy(x)).numpy()
    assert cb.meta["usage"] == np.bincount(units, minlength=8).tolist()
    c = cb.centroids.numpy()
    assert cb.meta["inertia"] == pytest.approx(float(((x - c[units]) ** 2).sum()), rel=1e-4)
