"""Training a k-means codebook on a feature sample held in memory (see ``sampling``).

``train`` runs ``nredo`` seeded restarts (seed, seed + 1, ...) on the chosen backend, each
up to ``niter`` Lloyd iterations or until the relative inertia change falls below ``tol``
(``lloyd``), keeps the run with the lowest inertia, measured for the final centroids with
the exact assignment (``assign.nearest``) so every backend reports the same quantity, and
takes cluster usage from that same assignment. Everything it was trained with goes into the
codebook header, including ``tol``, ``iterations_run`` and ``converged`` (whether the
tolerance, not ``niter``, ended the kept run).

The defaults (``defaults.NITER``, ``defaults.TOL``) are those of ``audiotok kmeans train``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.kmeans.codebook import Codebook
from audiotok.kmeans.defaults import NITER, TOL

if TYPE_CHECKING:
    import torch

log = logging.getLogger("audiotok.kmeans")
NORMALIZE = ("none", "l2")


def train(
    feats: np.ndarray | torch.Tensor,
    k: int,
    *,
    backend: str = "auto",
    niter: int = NITER,
    tol: float = TOL,
    nredo: int = 1,
    seed: int = 0,
    init: str = "kmeans++",
    spherical: bool = False,
    normalize: str = "none",
    meta: dict[str, Any] | None = None,
) -> Codebook:
    """Lloyd's k-means of feats[N, D] into k centroids; returns a Codebook with its header.

    ``spherical`` (cosine k-means: unit-norm centroids, unit-norm features) implies
    ``normalize="l2"``, which the codebook then also applies to the features it assigns.
    ``tol``: stop a run once ``|obj[i-1] - obj[i]| < tol * obj[i-1]`` (0: run all ``niter``).
    """
    import torch

    from audiotok.kmeans import backends
    from audiotok.kmeans.assign import nearest
    from audiotok.kmeans.lloyd import converged, lloyd_faiss, lloyd_torch

    if normalize not in NORMALIZE:
        raise AudiotokError(f"unknown --normalize {normalize!r}: use one of {NORMALIZE}")
    if spherical:
        normalize = "l2"
    if niter < 1 or nredo < 1:
        raise AudiotokError("--niter and --nredo must be at least 1")
    if not tol >= 0:
        raise AudiotokError(f"--tol must be >= 0 (0 runs all --niter iterations), got {tol}")
    x = torch.as_tensor(feats)
    if x.dim() != 2:
        raise AudiotokError(f"features must be [frames, dim], got shape {tuple(x.shape)}")
    name = backends.resolve(backend, dim=int(x.shape[1]), k=k, n=int(x.shape[0]))
    on_gpu = name.endswith("-gpu")
    device = "cuda" if on_gpu else "cpu"
    x = x.to(device=device, dtype=torch.float32)
    if normalize == "l2":
        x = torch.nn.functional.normalize(x, dim=1)
    if not torch.isfinite(x).all():
        raise AudiotokError("the features contain NaN or infinite values")
    t0 = time.perf_counter()
    best: tuple[torch.Tensor, torch.Tensor, list[float]] | None = None
    best_obj = float("inf")
    for r in range(nredo):
        c0 = backends.init_centroids(x, k, init, seed + r)
        if name.startswith("faiss"):
            c_np, objs = lloyd_faiss(
                x.cpu().numpy(),
                c0.cpu().numpy(),
                niter,
                tol=tol,
                spherical=spherical,
                seed=seed + r,
                gpu=on_gpu,
            )
            c = torch.from_numpy(c_np).to(device)
        else:
            c, objs = lloyd_torch(x, c0, niter, tol=tol, spherical=spherical, seed=seed + r)
        labels, dist = nearest(x, c, return_dist=True)
        obj = float(dist.double().sum())
        log.info(
            "redo %d/%d: inertia %.6g after %d iteration(s)%s",
            r + 1,
            nredo,
            obj,
            len(objs),
            " (converged)" if converged(objs, tol) else "",
        )
        if obj < best_obj:
            best, best_obj = (c, labels, objs), obj
    assert best is not None
    best_c, labels, objs = best
    usage = torch.bincount(labels, minlength=k).cpu()
    header = {
        **(meta or {}),
        "backend": name,
        "init": init,
        "seed": seed,
        "niter": niter,
        "tol": tol,
        "iterations_run": len(objs),
        "converged": converged(objs, tol),
        "nredo": nredo,
        "spherical": spherical,
        "normalize": normalize,
        "num_samples": int(x.shape[0]),
        "inertia": best_obj,
        "usage": usage.tolist(),
        "train_seconds": round(time.perf_counter() - t0, 3),
    }
    return Codebook(best_c.detach().cpu().float().contiguous(), header)


def train_faiss(
    feats: np.ndarray,
    k: int,
    *,
    niter: int = 50,
    nredo: int = 1,
    seed: int = 0,
    meta: dict[str, Any] | None = None,
) -> Codebook:
    """faiss.Kmeans as is (its own seeded random init and ``nredo``), on CPU: the recipe of
    the shipped ``mfcc-km100`` (``scripts/train_mfcc_km100.py``), kept so it reproduces."""
    import faiss
    import torch

    from audiotok.kmeans.assign import nearest

    x = np.ascontiguousarray(feats, dtype=np.float32)
    t0 = time.perf_counter()
    km = faiss.Kmeans(
        x.shape[1],
        k,
        niter=niter,
        nredo=nredo,
        seed=seed,
        verbose=False,
        max_points_per_centroid=1 << 30,
    )
    km.train(x)
    assert km.centroids is not None  # set by train
    c = torch.from_numpy(km.centroids.copy())
    labels, dist = nearest(torch.from_numpy(x), c, return_dist=True)
    header = {
        "normalize": "none",
        **(meta or {}),
        "backend": "faiss-cpu",
        "init": "faiss-random",
        "seed": seed,
        "niter": niter,
        "nredo": nredo,
        "spherical": False,
        "num_samples": int(x.shape[0]),
        "inertia": float(dist.double().sum()),
        "usage": torch.bincount(labels, minlength=k).tolist(),
        "train_seconds": round(time.perf_counter() - t0, 3),
    }
    return Codebook(c, header)
