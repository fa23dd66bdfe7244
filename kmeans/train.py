"""Training a k-means codebook with FAISS (CPU here; GPU backends live beside it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from audiotok.kmeans.codebook import Codebook


def train_faiss(
    feats: np.ndarray,
    k: int,
    *,
    niter: int = 50,
    nredo: int = 1,
    seed: int = 0,
    meta: dict[str, Any] | None = None,
) -> Codebook:
    """Lloyd's k-means (faiss.Kmeans) on feats[N, D]; returns a Codebook with its header."""
    import faiss
    import torch

    x = np.ascontiguousarray(feats, dtype=np.float32)
    km = faiss.Kmeans(x.shape[1], k, niter=niter, nredo=nredo, seed=seed, verbose=False,
                      max_points_per_centroid=1 << 30)
    km.train(x)
    dist, assign = km.index.search(x, 1)
    usage = np.bincount(assign[:, 0], minlength=k)
    header = {
        **(meta or {}),
        "backend": "faiss-cpu",
        "seed": seed,
        "niter": niter,
        "nredo": nredo,
        "num_samples": int(x.shape[0]),
        "inertia": float(dist.sum()),
        "usage": usage.tolist(),
    }
    header.setdefault("normalize", "none")
    return Codebook(torch.from_numpy(km.centroids.copy()), header)
