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
    idx = torch.randperm(n, generator=g)[:m].sort().values
    chosen = _greedy_kmeanspp(x, idx, k, np.random.default_rng(seed))
    return x[idx[torch.from_numpy(chosen)].to(x.device)].float().clone()


def _greedy_kmeanspp(
    x: torch.Tensor, idx: torch.Tensor, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices into ``idx`` (the m sampled rows of x) of k seeds. Per step: ``trials``
    candidates drawn by D^2 (cumulative sums, float64), their squared distances to every
    sampled row as one [trials, m] matrix product, and the bookkeeping (running minimum,
    potentials) in numpy. On CPU the rows are held transposed ([D, m], contiguous), where the
    skinny product is faster than over [m, D], and the bookkeeping is a handful of
    single-threaded array operations: the same in torch was a dozen multi-threaded ones whose
    thread synchronisation dominated on a busy CPU."""
    import torch

    m = int(idx.shape[0])
    trials = 2 + int(np.log(k))
    if x.device.type == "cpu":
        pts_t = np.ascontiguousarray(x[idx].float().numpy().T)  # [D, m]
        pn = np.einsum("dm,dm->m", pts_t, pts_t)

        def product(cand: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(pts_t[:, cand].T) @ pts_t  # [trials, m]

    else:
        pts = x[idx.to(x.device)].float()
        pn = (pts * pts).sum(1).cpu().numpy()

        def product(cand: np.ndarray) -> np.ndarray:
            c = torch.from_numpy(cand).to(pts.device)
            return (pts[c] @ pts.T).cpu().numpy()

    def dist(cand: np.ndarray) -> np.ndarray:  # [trials, m] float32 squared distances
        d = product(cand)
        d *= -2.0
        d += pn[None, :]
        d += pn[cand][:, None]
        return np.maximum(d, 0.0, out=d)

    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = rng.integers(m)
    dmin = dist(chosen[:1])[0]
    for i in range(1, k):
        cdf = np.cumsum(dmin, dtype=np.float64)
        if cdf[-1] <= 0:  # fewer distinct points than k: take any
            chosen[i] = rng.integers(m)
            continue
        # greedy k-means++: of `trials` candidates drawn by D^2, keep the one that lowers the
        # potential most (sklearn's default, 2 + ln k trials)
        cand = np.minimum(np.searchsorted(cdf, rng.random(trials) * cdf[-1], side="right"), m - 1)
        d = np.minimum(dist(cand), dmin[None, :])
        best = int(d.sum(1, dtype=np.float64).argmin())
        chosen[i] = cand[best]
        dmin = d[best]
    return chosen
