"""Unit assignment throughput: ``Codebook.assign`` vs sklearn's ``KMeans.predict``, one run.

Same centroids (k = 500), same features (default 100k x 768 clustered synthetic, see
``kmeans_train.py``), both in float32; sklearn gets a fitted ``MiniBatchKMeans`` whose
centres are replaced by ours. Also reported: fairseq's own ``ApplyKmeans`` numpy formula
(``dump_km_label.py``: ``||x||^2 - 2 x C + ||C||^2`` then ``argmin``), and how many rows
disagree with audiotok's exact result (which equals brute force, see ``assign.py``).

    python benchmarks/kmeans_assign.py              # real size
    python benchmarks/kmeans_assign.py -n 20000     # smoke run
    python benchmarks/kmeans_assign.py --device cuda
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import results


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("-k", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    ap.add_argument("--device", default="cpu")
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.n, a.dim, a.k, a.repeats = 3000, 32, 20, 1

    import torch
    from kmeans_train import synthetic
    from sklearn.cluster import MiniBatchKMeans

    from audiotok.kmeans import Codebook

    x = synthetic(a.n, a.dim)
    rng = np.random.default_rng(1)
    c = x[rng.choice(len(x), a.k, replace=False)] + 0.01
    cb = Codebook(torch.from_numpy(c.copy()), {}).to(a.device)
    xt = torch.from_numpy(x).to(a.device)

    def ours():
        u = cb.assign(xt)
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()
        return u.cpu().numpy()

    km = MiniBatchKMeans(a.k, n_init=1, max_iter=1, batch_size=10000, init=c).fit(x[: 4 * a.k])
    km.cluster_centers_ = c.copy()
    cn = (c**2).sum(1)

    def fairseq():
        d = (x**2).sum(1, keepdims=True) - 2 * x @ c.T + cn
        return d.argmin(1)

    t_ours, u = best_of(ours, a.repeats)
    t_sk, p = best_of(lambda: km.predict(x), a.repeats)
    t_fs, f = best_of(fairseq, a.repeats)
    print(f"features {a.n} x {a.dim} (synthetic), k={a.k}, device {a.device}")
    for name, t in (
        ("audiotok assign (exact)", t_ours),
        ("sklearn predict", t_sk),
        ("fairseq ApplyKmeans numpy", t_fs),
    ):
        print(f"{name:28s} {t:.3f} s  {a.n / t / 1e3:.1f} k frames/s")
    print(
        f"rows where sklearn differs from the exact units: {int((p != u).sum())}; "
        f"fairseq numpy: {int((f != u).sum())}"
    )
    rows = [
        {"line": name, "seconds": t, "k_frames_s": a.n / t / 1e3}
        for name, t in (("audiotok assign", t_ours), ("sklearn predict", t_sk),
                        ("fairseq ApplyKmeans numpy", t_fs))
    ]  # fmt: skip
    results.finish(
        a, "kmeans_assign.py", rows,
        f"exact unit assignment ({a.n} x {a.dim}, k={a.k}, {a.device}): {t_sk / t_ours:.2f}x "
        f"sklearn predict, {t_fs / t_ours:.2f}x fairseq's numpy formula",
        ratio=t_sk / t_ours,
    )  # fmt: skip


if __name__ == "__main__":
    main()
