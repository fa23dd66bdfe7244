"""K-means backends: faiss (GPU or CPU) and a torch Lloyd loop (GPU or CPU), and their start.

``resolve("auto")`` picks faiss on GPU when faiss was built with GPUs and sees one, the torch
path when only torch sees a GPU, and on CPU the faster of ``torch`` and ``faiss-cpu`` on this
machine, measured once per machine and problem shape and cached (``autoselect`` says why and
how). Every backend starts from the same initial centroids for the same seed
(:func:`init_centroids`), so backends differ only in their Lloyd iterations (``lloyd``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from audiotok.errors import AudiotokError

if TYPE_CHECKING:
    import torch

BACKENDS = ("faiss-gpu", "torch-gpu", "faiss-cpu", "torch")
INITS = ("kmeans++", "random")
log = logging.getLogger("audiotok.kmeans")


def faiss_gpus() -> int:
    try:
        import faiss
    except ImportError:
        return 0
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get else 0


def resolve(
    backend: str = "auto", *, dim: int | None = None, k: int | None = None, n: int | None = None
) -> str:
    """The backend to run: ``auto`` or one of :data:`BACKENDS`, checked against the machine.

    On CPU, ``auto`` with the problem's ``dim`` and ``k`` (and ``n`` rows) measures, or reads
    from the cache, which CPU backend is faster (``autoselect.cpu_backend``); without them it
    is ``torch``.
    """
    import torch

    if backend == "auto":
        if faiss_gpus() > 0:
            return "faiss-gpu"
        if torch.cuda.is_available():
            return "torch-gpu"
        if dim is None or k is None:
            return "torch"
        from audiotok.kmeans.autoselect import cpu_backend

        return cpu_backend(dim, k, n)
    if backend not in BACKENDS:
        raise AudiotokError(f"unknown --backend {backend!r}: use auto or one of {BACKENDS}")
    if backend == "faiss-gpu" and faiss_gpus() == 0:
        raise AudiotokError(
            "--backend faiss-gpu needs faiss built with GPUs (pip install audiotok[gpu]) and a "
            "visible GPU; use --backend torch-gpu or faiss-cpu"
        )
    if backend == "torch-gpu" and not torch.cuda.is_available():
        raise AudiotokError("--backend torch-gpu needs a CUDA GPU; use --backend torch (CPU)")
    return backend


def _sqdist_to(pts: torch.Tensor, pn: torch.Tensor, j: int) -> torch.Tensor:
    """Squared distances of every row of pts to row j (pn: the rows' squared norms)."""
    return (pn - 2.0 * (pts @ pts[j]) + pn[j]).clamp_(min=0)


def init_centroids(
    x: torch.Tensor, k: int, init: str, seed: int, *, max_init_points: int | None = None
) -> torch.Tensor:
    """k initial centroids drawn from x (seeded): ``random`` (k distinct points) or
    ``kmeans++`` (Arthur & Vassilvitskii 2007: each next centroid drawn with probability
    proportional to the squared distance to the nearest one chosen so far), in its greedy
    form (2 + ln k candidates per step, keep the one that lowers the potential most; the
    variant sklearn uses), run on a seeded subsample of ``max_init_points`` rows (default
    ``max(30000, 20 k)``; sklearn's MiniBatchKMeans uses ``init_size = 3 * batch_size``,
    30000 with fairseq's batch of 10000) to bound its k passes over the data."""
    import torch

    if init not in INITS:
        raise AudiotokError(f"unknown --init {init!r}: use one of {INITS}")
    n = x.shape[0]
    if n < k:
        raise AudiotokError(f"k-means needs at least k={k} feature frames, got {n}")
    g = torch.Generator().manual_seed(seed)
    if init == "random":
        idx = torch.randperm(n, generator=g)[:k].to(x.device)
        return x[idx].float().clone()
    m = min(n, max_init_points or max(30000, 20 * k))
    pts = x[torch.randperm(n, generator=g)[:m].sort().values.to(x.device)].float()
    pn = (pts * pts).sum(1)
    trials = 2 + int(np.log(k))
    chosen = torch.empty(k, dtype=torch.long)
    chosen[0] = int(torch.randint(m, (1,), generator=g))
    dmin = _sqdist_to(pts, pn, int(chosen[0]))
    for i in range(1, k):
        w = dmin.double().cpu()
        total = float(w.sum())
        if total <= 0:  # fewer distinct points than k: take any
            chosen[i] = int(torch.randint(m, (1,), generator=g))
            continue
        # greedy k-means++: of `trials` candidates drawn by D^2, keep the one that lowers the
        # potential most (sklearn's default, 2 + ln k trials); one small matmul per step
        cand = torch.multinomial(w / total, trials, replacement=True, generator=g).to(x.device)
        d = (pn[:, None] - 2.0 * (pts @ pts[cand].T) + pn[cand][None]).clamp_(min=0)
        d = torch.minimum(d, dmin[:, None])
        best = int(d.double().sum(0).argmin())
        chosen[i] = cand[best]
        dmin = d[:, best].contiguous()
    return pts[chosen.to(x.device)].clone()
