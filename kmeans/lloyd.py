"""Lloyd iterations of every backend, with one stopping rule.

Each iteration assigns every point to its nearest centroid (measuring the inertia of the
current centroids, ``sum ||x - c_label||^2``) and moves each centroid to the mean of its
points. Iteration ``i`` records the inertia ``obj[i]`` of the centroids it started from.
The loop stops after ``niter`` iterations, or earlier once the relative change of the inertia
between two iterations falls below ``tol`` (:func:`converged`):
``|obj[i-1] - obj[i]| < tol * obj[i-1]``; the update of that last iteration is kept (Lloyd's
update never raises the inertia). ``tol = 0`` runs all ``niter`` iterations unless the
inertia stops changing at all (a fixed point).

- :func:`lloyd_torch`: chunked ``addmm`` + ``min`` assignment, ``index_add_`` update (CPU or
  GPU).
- :func:`lloyd_faiss`: ``faiss.Kmeans`` (CPU or GPU). Recent faiss (1.15 here) has the rule built in
  (``ClusteringParameters.early_stop_threshold``: stop once the relative change of the
  objective falls below it; checked against this module's rule in the tests), so one faiss call
  runs the whole loop. With an older faiss, it runs one faiss iteration per call, each started
  from the centroids the previous one returned (``init_centroids``), and applies the rule.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

log = logging.getLogger("audiotok.kmeans")


def converged(objs: list[float], tol: float) -> bool:
    """True when the last two inertias differ by less than ``tol`` relative to the first, or
    not at all (a fixed point: further iterations change nothing, whatever ``tol``)."""
    if len(objs) < 2:
        return False
    prev, cur = objs[-2], objs[-1]
    return prev == cur or (tol > 0 and abs(prev - cur) < tol * abs(prev))


def lloyd_torch(
    x: torch.Tensor,
    centroids: torch.Tensor,
    niter: int,
    *,
    tol: float = 0.0,
    spherical: bool = False,
    seed: int = 0,
    chunk: int = 8192,
) -> tuple[torch.Tensor, list[float]]:
    """Up to ``niter`` Lloyd iterations of x[N, D] from centroids[k, D] (stops at ``tol``).

    An empty cluster takes a copy of a big cluster's centroid (chosen with probability
    proportional to its size), the two nudged apart by a relative 1/1024, as faiss does.
    Returns the centroids and the inertia measured at each iteration's assignment step.
    """
    import torch

    g = torch.Generator().manual_seed(seed + 7919)
    c = centroids.to(x.device, torch.float32).clone()
    k, dim = c.shape
    objs: list[float] = []
    x_sq = sum(float((x[s : s + chunk].double() ** 2).sum()) for s in range(0, len(x), chunk))
    sums = torch.empty(k, dim, dtype=torch.float32, device=x.device)
    counts = torch.empty(k, dtype=torch.float64, device=x.device)
    for it in range(niter):
        c2 = (c * c).sum(1)
        sums.zero_()
        counts.zero_()
        obj = torch.zeros((), dtype=torch.float64, device=x.device)
        for s in range(0, x.shape[0], chunk):
            xs = x[s : s + chunk].float()
            d = torch.addmm(c2, xs, c.T, beta=1.0, alpha=-2.0)
            dmin, lab = d.min(dim=1)
            obj += dmin.double().sum()  # + sum ||x||^2, added once below
            sums.index_add_(0, lab, xs)
            counts += torch.bincount(lab, minlength=k).double()
        objs.append(float(obj) + x_sq)
        nonempty = counts > 0
        c[nonempty] = (sums[nonempty].double() / counts[nonempty, None]).float()
        _split_empty(c, counts, g)
        if spherical:
            c = torch.nn.functional.normalize(c, dim=1)
        log.debug("iteration %d: inertia %.6g", it, objs[-1])
        if converged(objs, tol):
            break
    return c, objs


def _split_empty(c: torch.Tensor, counts: torch.Tensor, g: torch.Generator) -> None:
    import torch

    counts = counts.cpu().clone()
    n = float(counts.sum())
    for j in (counts == 0).nonzero().flatten().tolist():
        p = (counts - 1).clamp(min=0) / max(1.0, n - float(counts.numel()))
        src = int(torch.multinomial(p, 1, generator=g)) if float(p.sum()) > 0 else 0
        eps = 1.0 / 1024
        c[j] = c[src] * (1 + eps)
        c[src] = c[src] * (1 - eps)
        counts[j] = counts[src] // 2
        counts[src] -= counts[j]


def faiss_has_tol() -> bool:
    import faiss

    return hasattr(faiss.ClusteringParameters, "early_stop_threshold")


def lloyd_faiss(
    x: np.ndarray,
    centroids: np.ndarray,
    niter: int,
    *,
    tol: float = 0.0,
    spherical: bool = False,
    seed: int = 0,
    gpu: bool = False,
    per_iteration: bool | None = None,
) -> tuple[np.ndarray, list[float]]:
    """faiss.Kmeans started from the given centroids (no subsampling: the caller sampled).

    ``per_iteration`` (default: only where faiss has no ``early_stop_threshold``) runs one
    faiss iteration per call (the index is reused), so the rule above can stop it."""
    import faiss

    if per_iteration is None:
        per_iteration = not faiss_has_tol()
    k, dim = centroids.shape
    x = np.ascontiguousarray(x, dtype=np.float32)
    opts = {} if per_iteration else {"early_stop_threshold": float(tol)}
    km = faiss.Kmeans(
        dim,
        k,
        niter=1 if per_iteration else niter,
        nredo=1,
        seed=seed,
        spherical=spherical,
        gpu=gpu,
        verbose=False,
        max_points_per_centroid=1 << 30,
        min_points_per_centroid=1,
        **opts,
    )
    if not per_iteration:
        km.train(x, init_centroids=centroids)
        assert km.centroids is not None and km.obj is not None  # set by train
        return km.centroids.copy(), [float(o) for o in km.obj]
    c = np.ascontiguousarray(centroids, dtype=np.float32)
    objs: list[float] = []
    for it in range(niter):
        km.cp.seed = seed + it  # faiss reseeds its empty-cluster splits on every call
        km.train(x, init_centroids=c)
        assert km.centroids is not None and km.obj is not None
        c = km.centroids.copy()
        objs.append(float(km.obj[0]))
        log.debug("iteration %d: inertia %.6g", it, objs[-1])
        if converged(objs, tol):
            break
    return c, objs
