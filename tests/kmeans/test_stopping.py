"""The tolerance stopping rule (every CPU backend) and ``--backend auto``'s measured choice."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from audiotok.errors import AudiotokError
from audiotok.kmeans import autoselect
from audiotok.kmeans.backends import init_centroids, resolve
from audiotok.kmeans.lloyd import converged, faiss_has_tol, lloyd_faiss, lloyd_torch
from audiotok.kmeans.train import train

CPU_BACKENDS = ["faiss-cpu", "torch"]


def overlapping(n=3000, dim=10, k=30, seed=0):
    """Many overlapping blobs: Lloyd needs a good number of iterations to settle."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim)).astype(np.float32) * 2
    return centres[rng.integers(0, k, n)] + rng.standard_normal((n, dim)).astype(np.float32)


def test_rule():
    assert not converged([100.0], 1e-4)
    assert not converged([100.0, 99.0], 1e-4)  # 1% change
    assert converged([100.0, 99.995], 1e-4)  # 0.005% change
    assert not converged([100.0, 99.995], 0.0)  # tol 0: only at a fixed point
    assert converged([5.0, 5.0], 0.0)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_tol_stops_early_and_is_recorded(backend):
    x = overlapping(n=1500)
    full = train(x, 12, backend=backend, niter=40, tol=0.0, seed=1)  # to the fixed point
    assert full.meta["tol"] == 0.0 and 10 < full.meta["iterations_run"] < 40
    early = train(x, 12, backend=backend, niter=40, tol=1e-4, seed=1)
    assert early.meta["converged"] is True and early.meta["tol"] == 1e-4
    assert 2 <= early.meta["iterations_run"] < full.meta["iterations_run"]
    # stopping at a 0.01% change costs little inertia
    assert early.meta["inertia"] <= full.meta["inertia"] * 1.001
    capped = train(x, 12, backend=backend, niter=2, tol=1e-3, seed=1)
    assert capped.meta["iterations_run"] == 2 and capped.meta["converged"] is False


def test_each_backend_stops_where_its_inertia_says():
    """The torch loop, faiss's own early stop and faiss one iteration at a time all stop at
    the first iteration whose relative inertia change is below tol."""
    x = torch.from_numpy(overlapping(seed=2))
    c0 = init_centroids(x, 12, "kmeans++", 0)
    runs = [
        lloyd_torch(x, c0, 100, tol=1e-3),
        lloyd_faiss(x.numpy(), c0.numpy(), 100, tol=1e-3, per_iteration=True),
    ]
    if faiss_has_tol():
        runs.append(lloyd_faiss(x.numpy(), c0.numpy(), 100, tol=1e-3, per_iteration=False))
    for _, objs in runs:
        assert converged(objs, 1e-3) and not any(
            converged(objs[: i + 1], 1e-3) for i in range(len(objs) - 1)
        )
        assert len(objs) < 100
    # all three are the same Lloyd iterations from the same start
    assert len({len(o) for _, o in runs}) == 1


def test_faiss_one_iteration_at_a_time_equals_one_call():
    x = overlapping(seed=3)
    c0 = init_centroids(torch.from_numpy(x), 12, "kmeans++", 0).numpy()
    c_once, obj_once = lloyd_faiss(x, c0, 8, tol=0.0, per_iteration=False)
    c_step, obj_step = lloyd_faiss(x, c0, 8, tol=1e-12, per_iteration=True)  # 8 single steps
    assert len(obj_step) == 8
    np.testing.assert_allclose(obj_step, obj_once, rtol=1e-5)
    np.testing.assert_allclose(c_step, c_once, rtol=1e-4, atol=1e-5)


def test_bad_options_are_refused():
    x = overlapping(n=100)
    with pytest.raises(AudiotokError, match="--tol"):
        train(x, 4, backend="torch", tol=-1.0)
    with pytest.raises(AudiotokError, match="--niter"):
        train(x, 4, backend="torch", niter=0)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path))
    monkeypatch.delenv(autoselect.ENV, raising=False)
    monkeypatch.setattr(autoselect, "_memo", {})
    return tmp_path


def test_auto_picks_the_measured_faster_backend_and_caches_it(home, monkeypatch):
    calls = []

    def faiss_wins(dim, k):
        calls.append((dim, k))
        return {"torch": 0.30, "faiss-cpu": 0.10}

    assert autoselect.cpu_backend(768, 500, measure_fn=faiss_wins) == "faiss-cpu"
    cache = json.loads((home / "kmeans" / autoselect.CACHE_NAME).read_text())
    (entry,) = cache.values()
    assert entry["backend"] == "faiss-cpu" and entry["seconds_per_iteration"]["torch"] == 0.30
    monkeypatch.setattr(autoselect, "_memo", {})  # a new process: read from the cache
    assert autoselect.cpu_backend(768, 500, measure_fn=faiss_wins) == "faiss-cpu"
    assert len(calls) == 1
    torch_wins = lambda d, k: {"torch": 0.1, "faiss-cpu": 0.2}  # noqa: E731
    assert autoselect.cpu_backend(80, 500, measure_fn=torch_wins) == "torch"  # another shape
    assert len(json.loads((home / "kmeans" / autoselect.CACHE_NAME).read_text())) == 2


def test_auto_small_problems_env_override_and_unwritable_cache(home, monkeypatch):
    def never(dim, k):
        raise AssertionError("measured a tiny problem")

    assert autoselect.cpu_backend(8, 4, n=100, measure_fn=never) == "torch"
    monkeypatch.setenv(autoselect.ENV, "faiss-cpu")
    assert resolve("auto", dim=768, k=500, n=10**6) == "faiss-cpu"
    monkeypatch.setenv(autoselect.ENV, "gpu-please")
    with pytest.raises(AudiotokError, match=autoselect.ENV):
        resolve("auto", dim=768, k=500)
    monkeypatch.delenv(autoselect.ENV)
    monkeypatch.setenv("AUDIOTOK_HOME", "/proc/no-such-dir")  # cannot be written
    faster = lambda d, k: {"torch": 0.2, "faiss-cpu": 0.1}  # noqa: E731
    assert autoselect.cpu_backend(64, 64, measure_fn=faster) == "faiss-cpu"


def test_real_measurement_times_both_backends():
    times = autoselect.measure(16, 8, rows=2048, repeats=1)
    assert set(times) == {"torch", "faiss-cpu"} and all(0 < t < 30 for t in times.values())
