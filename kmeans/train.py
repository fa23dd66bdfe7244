"""Training a k-means codebook on a feature sample held in memory (see ``sampling``).

``train`` runs ``nredo`` seeded restarts (seed, seed + 1, ...) on the chosen backend, keeps
the run with the lowest inertia, then measures inertia and cluster usage of the final
centroids with the exact assignment (``assign.nearest``), so every backend reports the same
quantity. Everything it was trained with goes into the codebook header.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.kmeans.codebook import Codebook

if TYPE_CHECKING:
    import torch

log = logging.getLogger("audiotok.kmeans")
NORMALIZE = ("none", "l2")


def train(
    feats: np.ndarray | torch.Tensor,
    k: int,
    *,
    backend: str = "auto",
    niter: int = 20,
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
    """
    import torch

    from audiotok.kmeans import backends
    from audiotok.kmeans.assign import nearest

    if normalize not in NORMALIZE:
        raise AudiotokError(f"unknown --normalize {normalize!r}: use one of {NORMALIZE}")
    if spherical:
        normalize = "l2"
    name = backends.resolve(backend)
    on_gpu = name.endswith("-gpu")
    device = "cuda" if on_gpu else "cpu"
    x = torch.as_tensor(feats)
    if x.dim() != 2:
        raise AudiotokError(f"features must be [frames, dim], got shape {tuple(x.shape)}")
    x = x.to(device=device, dtype=torch.float32)
    if normalize == "l2":
        x = torch.nn.functional.normalize(x, dim=1)
    if not torch.isfinite(x).all():
        raise AudiotokError("the features contain NaN or infinite values")
    t0 = time.perf_counter()
    best_c, best_obj = None, float("inf")
    for r in range(nredo):
        c0 = backends.init_centroids(x, k, init, seed + r)
        if name.startswith("faiss"):
            c, objs = backends.lloyd_faiss(
                x.cpu().numpy(),
                c0.cpu().numpy(),
                niter,
                spherical=spherical,
                seed=seed + r,
                gpu=on_gpu,
            )
            c = torch.from_numpy(c).to(device)
        else:
            c, objs = backends.lloyd_torch(x, c0, niter, spherical=spherical, seed=seed + r)
        _, dist = nearest(x, c, return_dist=True)
        obj = float(dist.double().sum())
        log.info(
            "redo %d/%d: inertia %.6g (last iteration %.6g)",
            r + 1,
            nredo,
            obj,
            objs[-1] if objs else float("nan"),
        )
        if obj < best_obj:
            best_c, best_obj = c, obj
    assert best_c is not None
    labels = nearest(x, best_c)
    usage = torch.bincount(labels, minlength=k).cpu()
    header = {
        **(meta or {}),
        "backend": name,
        "init": init,
        "seed": seed,
        "niter": niter,
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
