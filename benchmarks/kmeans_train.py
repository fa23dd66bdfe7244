"""K-means training: audiotok vs sklearn MiniBatchKMeans with fairseq's settings, one run.

Baseline: fairseq ``examples/hubert/simple_kmeans/learn_kmeans.py`` builds
``MiniBatchKMeans(n_clusters, init="k-means++", max_iter=100, batch_size=10000, tol=0.0,
max_no_improvement=100, init_size=None, n_init=20, reassignment_ratio=0.0,
compute_labels=False)`` and fits it on all features in RAM. We keep those settings except
``n_init`` (20 there; ``--sk-n-init``, default 3, to bound the time: each init is a greedy
k-means++ run on 3 x batch_size points). Both sides get the same features; the inertia of
each result is measured on the full data with the same exact assignment.

Data: clustered synthetic features (default 100k x 768, k = 500): 1000 Gaussian blobs
whose centres span a 64-dim subspace, plus isotropic unit noise in all 768 dims, so k-means
has to merge blobs and the result depends on the algorithm. ``--feats file.npy`` uses real
features instead.

    python benchmarks/kmeans_train.py                       # the real size (minutes)
    python benchmarks/kmeans_train.py -n 20000 -k 100       # smoke run
    python benchmarks/kmeans_train.py --device cuda -n 1000000 -k 2000 --niter 20 --no-sklearn

``--device cuda`` runs the torch GPU path and prints seconds per iteration and that time
divided by the time of the iteration's matrix product alone (its efficiency).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic(n: int, dim: int, blobs: int = 1000, rank: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim)).astype(np.float32)
    centres = (rng.standard_normal((blobs, rank)).astype(np.float32) * 3) @ basis / 8
    lab = rng.integers(0, blobs, n)
    return (centres[lab] + rng.standard_normal((n, dim)).astype(np.float32)).astype(np.float32)


def inertia(x: np.ndarray, c: np.ndarray) -> float:
    import torch

    from audiotok.kmeans.assign import nearest

    _, d = nearest(
        torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(c, np.float32)), return_dist=True
    )
    return float(d.double().sum())


def run_sklearn(x: np.ndarray, k: int, n_init: int, seed: int) -> tuple[float, np.ndarray]:
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(
        n_clusters=k,
        init="k-means++",
        max_iter=100,
        batch_size=10000,
        tol=0.0,
        max_no_improvement=100,
        init_size=None,
        n_init=n_init,
        reassignment_ratio=0.0,
        compute_labels=False,
        random_state=seed,
    )
    t = time.perf_counter()
    km.fit(x)
    return time.perf_counter() - t, km.cluster_centers_


def gpu_iterations(x_np: np.ndarray, k: int, niter: int) -> None:
    import torch

    from audiotok.kmeans.backends import init_centroids, lloyd_torch

    x = torch.from_numpy(x_np).cuda()
    c0 = init_centroids(x, k, "random", 0)
    lloyd_torch(x, c0, 1)  # warm up kernels
    torch.cuda.synchronize()
    t = time.perf_counter()
    lloyd_torch(x, c0, niter)
    torch.cuda.synchronize()
    per_iter = (time.perf_counter() - t) / niter
    c = c0.clone()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(niter):
        for s in range(0, x.shape[0], 16384):
            x[s : s + 16384] @ c.T
    torch.cuda.synchronize()
    mm = (time.perf_counter() - t) / niter
    print(
        f"torch-gpu: {per_iter:.4f} s/iter, matmul alone {mm:.4f} s/iter, "
        f"efficiency {mm / per_iter:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=100_000, help="frames (default 100k)")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("-k", type=int, default=500)
    ap.add_argument("--niter", type=int, default=10, help="audiotok Lloyd iterations")
    ap.add_argument(
        "--backends",
        default="faiss-cpu,torch",
        help="audiotok backends to time, comma-separated (faiss-cpu, torch)",
    )
    ap.add_argument("--sk-n-init", type=int, default=3, help="sklearn n_init (fairseq: 20)")
    ap.add_argument("--no-sklearn", action="store_true", help="skip the baseline")
    ap.add_argument("--feats", help="a .npy of real [N, D] features instead of synthetic")
    ap.add_argument("--device", default="cpu", help="cuda: time the torch GPU path")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    x = np.load(a.feats).astype(np.float32) if a.feats else synthetic(a.n, a.dim, seed=a.seed)
    print(f"features {x.shape[0]} x {x.shape[1]} ({'file' if a.feats else 'synthetic'}), k={a.k}")
    if a.device.startswith("cuda"):
        gpu_iterations(x, a.k, a.niter)
        return
    from audiotok.kmeans.train import train

    ours = {}
    for backend in a.backends.split(","):
        t = time.perf_counter()
        cb = train(x, a.k, backend=backend, niter=a.niter, seed=a.seed)
        ours[backend] = (time.perf_counter() - t, inertia(x, cb.centroids.numpy()))
        print(
            f"audiotok {backend} (greedy k-means++, {a.niter} iterations): "
            f"{ours[backend][0]:.1f} s, inertia {ours[backend][1]:.6g}",
            flush=True,
        )
    if a.no_sklearn:
        return
    sk_s, sk_c = run_sklearn(x, a.k, a.sk_n_init, a.seed)
    sk_inertia = inertia(x, sk_c)
    print(
        f"sklearn MiniBatchKMeans (fairseq settings, n_init={a.sk_n_init}): {sk_s:.1f} s, "
        f"inertia {sk_inertia:.6g}"
    )
    for backend, (s, i) in ours.items():
        print(
            f"{backend}: training time ratio (sklearn / audiotok) {sk_s / s:.2f}x, "
            f"inertia ratio (audiotok / sklearn) {i / sk_inertia:.4f}"
        )


if __name__ == "__main__":
    main()
