"""K-means training: ``audiotok kmeans train`` at its defaults vs fairseq's k-means, one run.

Ours: the CLI with no options but input, k and output (``-k 500``): at most 20 Lloyd
iterations, stopping once the relative inertia change falls below 1e-4, ``--backend auto``
(on CPU the faster of torch and faiss-cpu on this machine, measured once and cached: the
measurement is timed separately here, before the run), greedy k-means++ init. Run in this
process on a ``.npy`` of the features, so it includes reading the sample.

Baseline: fairseq ``examples/hubert/simple_kmeans/learn_kmeans.py`` (facebookresearch/fairseq,
checked at commit 2f5784c): ``MiniBatchKMeans(n_clusters, init="k-means++", max_iter=100,
batch_size=10000, tol=0.0, max_no_improvement=100, init_size=None, n_init=20,
reassignment_ratio=0.0, compute_labels=False)`` fitted on all features in RAM; those are the
defaults of its command line, used here unchanged (``--sk-n-init`` only to shorten smoke runs).
The inertia of both results is measured on the full data with the same exact assignment.
Most of the baseline's time goes to its 20 greedy k-means++ inits, whose distances sklearn
computes in float64 (``sklearn.metrics.pairwise._euclidean_distances_upcast``) even for
float32 features.

Like for like (added): from one set of greedy k-means++ centroids (``init_centroids``, what
the CLI draws), our Lloyd (``lloyd_torch``, tol 1e-4) runs until it stops; then sklearn's
``KMeans(algorithm="lloyd", n_init=1, tol=0)`` and faiss's ``Kmeans(nredo=1)`` run exactly as
many iterations from the same centroids. Seconds and inertia side by side.

Data: clustered synthetic features (default 100k x 768, k = 500): 1000 Gaussian blobs whose
centres span a 64-dim subspace, plus isotropic unit noise in all 768 dims, so k-means has to
merge blobs and the result depends on the algorithm. ``--feats file.npy`` uses real features.

    python benchmarks/kmeans_train.py                       # the real size (long: sklearn)
    python benchmarks/kmeans_train.py --smoke --json km.json        # toy sizes
    python benchmarks/kmeans_train.py --also torch,faiss-cpu          # each CPU backend too
    python benchmarks/kmeans_train.py --device cuda -n 1000000 -k 2000 --no-sklearn

``--device cuda`` runs the torch GPU path and prints seconds per iteration and that time
divided by the time of the iteration's matrix product alone (its efficiency).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import results


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

    from audiotok.kmeans.backends import init_centroids
    from audiotok.kmeans.lloyd import lloyd_torch

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


def same_iterations(x: np.ndarray, k: int, seed: int) -> list[dict]:
    """Our Lloyd from greedy k-means++ centroids until tol, then sklearn and faiss for as many
    iterations from the same centroids (one init each)."""
    import torch

    from audiotok.kmeans.backends import init_centroids
    from audiotok.kmeans.defaults import NITER, TOL
    from audiotok.kmeans.lloyd import lloyd_torch

    xt = torch.from_numpy(x)
    c0 = init_centroids(xt, k, "kmeans++", seed)
    t = time.perf_counter()
    c, objs = lloyd_torch(xt, c0, NITER, tol=TOL, seed=seed)
    rows = [{"line": "audiotok lloyd_torch", "seconds": time.perf_counter() - t,
             "iterations": len(objs), "inertia": inertia(x, c.numpy())}]  # fmt: skip
    n_iter = len(objs)
    try:
        from sklearn.cluster import KMeans

        km = KMeans(k, init=c0.numpy(), n_init=1, max_iter=n_iter, tol=0.0, algorithm="lloyd")
        t = time.perf_counter()
        km.fit(x)
        rows.append({"line": "sklearn KMeans (lloyd, same init)", "seconds":
                     time.perf_counter() - t, "iterations": int(km.n_iter_),
                     "inertia": inertia(x, km.cluster_centers_)})  # fmt: skip
    except ImportError:
        print("sklearn missing: no sklearn line")
    try:
        import faiss

        fk = faiss.Kmeans(x.shape[1], k, niter=n_iter, nredo=1, seed=seed, verbose=False,
                          max_points_per_centroid=x.shape[0])  # fmt: skip
        t = time.perf_counter()
        fk.train(x, init_centroids=c0.numpy())
        rows.append({"line": "faiss Kmeans (same init)", "seconds": time.perf_counter() - t,
                     "iterations": n_iter, "inertia": inertia(x, fk.centroids)})  # fmt: skip
    except ImportError:
        print("faiss missing: no faiss line")
    for r in rows:
        print(f"  {r['line']:36s} {r['seconds']:8.2f} s, {r['iterations']} iterations, "
              f"inertia {r['inertia']:.6g}")  # fmt: skip
    return rows


def run_cli(x: np.ndarray, k: int, seed: int, extra: list[str]) -> tuple[float, dict, np.ndarray]:
    """``audiotok kmeans train FEATS.npy -k K -o OUT`` in this process: seconds, header,
    centroids."""
    import tempfile
    from pathlib import Path

    from audiotok.cli.app import main as cli
    from audiotok.kmeans import load

    with tempfile.TemporaryDirectory() as tmp:
        feats, out = Path(tmp) / "feats.npy", Path(tmp) / "km.safetensors"
        np.save(feats, x)
        argv = ["kmeans", "train", str(feats), "-k", str(k), "-o", str(out), *extra]
        if seed:
            argv += ["--seed", str(seed)]
        t = time.perf_counter()
        try:
            cli(argv)
        except SystemExit as e:
            if e.code:
                raise RuntimeError(f"audiotok {' '.join(argv)} exited with {e.code}") from None
        s = time.perf_counter() - t
        cb = load(out)
        return s, cb.meta, cb.centroids.numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=100_000, help="frames (default 100k)")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("-k", type=int, default=500)
    ap.add_argument(
        "--also", default="", help="also time these --backend values at the same defaults"
    )
    ap.add_argument("--sk-n-init", type=int, default=20, help="sklearn n_init (fairseq: 20)")
    ap.add_argument("--no-sklearn", action="store_true", help="skip the baseline")
    ap.add_argument("--feats", help="a .npy of real [N, D] features instead of synthetic")
    ap.add_argument("--device", default="cpu", help="cuda: time the torch GPU path")
    ap.add_argument("--niter", type=int, default=20, help="iterations of the --device cuda run")
    ap.add_argument("--seed", type=int, default=0)
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.n, a.dim, a.k, a.sk_n_init = 4000, 32, 20, 2

    x = np.load(a.feats).astype(np.float32) if a.feats else synthetic(a.n, a.dim, seed=a.seed)
    print(f"features {x.shape[0]} x {x.shape[1]} ({'file' if a.feats else 'synthetic'}), k={a.k}")
    if a.device.startswith("cuda"):
        gpu_iterations(x, a.k, a.niter)
        return
    import torch

    from audiotok.kmeans import autoselect
    from audiotok.kmeans.defaults import NITER, TOL

    print(f"threads: torch {torch.get_num_threads()}, cpus {os.cpu_count()}", flush=True)
    t = time.perf_counter()
    choice = autoselect.cpu_backend(x.shape[1], a.k, x.shape[0])
    print(
        f"--backend auto -> {choice} (choice measured or read from {autoselect.cache_path()} "
        f"in {time.perf_counter() - t:.1f} s, once per machine and shape)",
        flush=True,
    )
    ours = {}
    runs = [("defaults", []), *[(b, ["--backend", b]) for b in a.also.split(",") if b]]
    for label, extra in runs:
        s, meta, c = run_cli(x, a.k, a.seed, extra)
        ours[label] = (s, inertia(x, c))
        print(
            f"audiotok kmeans train ({label}: backend {meta['backend']}, niter {NITER}, "
            f"tol {TOL:g}, {meta['init']} init): {s:.1f} s, {meta['iterations_run']} iterations "
            f"({'converged' if meta['converged'] else 'hit niter'}), inertia {ours[label][1]:.6g}",
            flush=True,
        )
    print("same iterations, tolerance and init (one run each):", flush=True)
    rows = same_iterations(x, a.k, a.seed)
    lines = [{"line": f"audiotok kmeans train ({label})", "seconds": s, "inertia": i}
             for label, (s, i) in ours.items()]  # fmt: skip
    s0, i0 = ours["defaults"]
    headline = f"k-means train at CLI defaults: {s0:.1f} s"
    ratio = None
    if not a.no_sklearn:
        sk_s, sk_c = run_sklearn(x, a.k, a.sk_n_init, a.seed)
        sk_inertia = inertia(x, sk_c)
        print(
            f"sklearn MiniBatchKMeans (fairseq learn_kmeans.py settings, n_init={a.sk_n_init}): "
            f"{sk_s:.1f} s, inertia {sk_inertia:.6g}"
        )
        lines.append({"line": f"sklearn MiniBatchKMeans (fairseq settings, n_init {a.sk_n_init})",
                      "seconds": sk_s, "inertia": sk_inertia})  # fmt: skip
        ratio = sk_s / s0
        headline += f", {ratio:.1f}x fairseq's settings at inertia ratio {i0 / sk_inertia:.4f}"
    sides = ", ".join(f"{r['line'].split(' (')[0]} {r['seconds']:.1f} s" for r in rows)
    headline += f"; same {rows[0]['iterations']} iterations from one init: {sides}"
    results.finish(a, "kmeans_train.py", lines + rows, headline, ratio=ratio, target=">= 8x")


if __name__ == "__main__":
    main()
