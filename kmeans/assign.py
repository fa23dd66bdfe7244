"""Nearest-centroid assignment that is fast and provably equal to brute force.

The fast path is the usual expansion ``d_j = ||c_j||^2 - 2 x.c_j`` (``||x||^2`` is the same
for every centroid) as one float32 matrix product per chunk. Its rounding error is bounded:
for a D-term dot product computed in any summation order,
``|fl(x.c) - x.c| <= gamma_D * ||x|| ||c||`` with ``gamma_n = n u / (1 - n u)`` (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., Thm. 3.1 and eq. 3.5), and the
same holds for ``||c||^2``. With ``M = max_j ||c_j||^2 + 2 ||x|| max_j ||c_j||``, every
computed ``d_j`` is within ``eps = gamma_{D+4} M`` of the exact value (the extra terms cover
the final additions and rounding ``x`` to float32). So when the best computed distance beats
the second best by more than ``2 eps`` the best is the unique exact nearest centroid. Rows
where it does not (exact ties, near ties) are recomputed as ``sum((x - c)^2)`` in float64
over the centroids whose computed distance is within ``2 eps`` of the best, which contain
every possible exact minimiser; ties go to the lowest index, as ``argmin`` does.

When matmuls may use TF32 or bfloat16 (``torch.get_float32_matmul_precision()`` other than
``"highest"``), ``u`` is widened to that format's unit roundoff, so the proof still holds and
more rows take the exact path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

U32 = 2.0**-24
UNIT_ROUNDOFF = {"highest": U32, "high": 2.0**-11, "medium": 2.0**-8}
PAIR_CHUNK = 1 << 16  # (row, centroid) pairs recomputed exactly at a time


def error_bound_factor(dim: int) -> float:
    import torch

    u = UNIT_ROUNDOFF.get(torch.get_float32_matmul_precision(), 2.0**-8)
    n = dim + 4
    return 1.01 * n * u / (1.0 - n * u)


def nearest(
    x: torch.Tensor,
    centroids: torch.Tensor,
    *,
    chunk: int = 32768,
    return_dist: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest centroid (squared L2, ties to the lowest index) of each row.

    x: [N, D] of any float dtype (recomputed rows use its float64 value); centroids: [k, D].
    With ``return_dist`` also returns the float32 squared distance to the chosen centroid
    (computed directly as ``sum((x - c)^2)``, for inertia). Runs on the centroids' device.
    """
    import torch

    dev = centroids.device
    c = centroids.to(dev, torch.float32).contiguous()
    k, dim = c.shape
    c2 = (c * c).sum(1)
    cmax = float(c2.max().sqrt()) if k else 0.0
    gamma = error_bound_factor(dim)
    labels = torch.empty(x.shape[0], dtype=torch.long, device=dev)
    dists = torch.empty(x.shape[0], dtype=torch.float32, device=dev) if return_dist else None
    c64 = None
    for s in range(0, x.shape[0], chunk):
        xo = x[s : s + chunk].to(dev)
        xs = xo.to(torch.float32)
        d = torch.addmm(c2, xs, c.T, beta=1.0, alpha=-2.0)  # [n, k]
        xnorm = xs.norm(dim=1).double() * 1.001
        eps = gamma * (cmax * cmax + 2.0 * xnorm * cmax)  # [n] float64
        if k > 1:
            top = d.topk(2, dim=1, largest=False, sorted=True)
            best = top.indices[:, 0]
            lo = top.values[:, 0]
            gap = top.values[:, 1].double() - lo.double()
            # topk's order between equal values is unspecified; ties are flagged anyway.
            flagged = (gap <= 2.0 * eps).nonzero().squeeze(1)
        else:
            lo, best = d.min(dim=1)
            flagged = torch.empty(0, dtype=torch.long, device=dev)
        if flagged.numel():
            if c64 is None:
                c64 = c.double()
            best = best.clone()
            best[flagged] = _exact(xo[flagged], d[flagged], lo[flagged], eps[flagged], c64)
        labels[s : s + chunk] = best
        if dists is not None:
            dists[s : s + chunk] = ((xs - c[best]) ** 2).sum(1)  # direct: no cancellation
    return labels if dists is None else (labels, dists)  # dists is set iff return_dist


def _exact(
    xf: torch.Tensor, d: torch.Tensor, lo: torch.Tensor, eps: torch.Tensor, c64: torch.Tensor
) -> torch.Tensor:
    """Exact argmin for the flagged rows over their candidate centroids, in float64."""
    import torch

    cand = d.double() <= (lo.double() + 2.0 * eps)[:, None]
    rows, cols = cand.nonzero(as_tuple=True)
    x64 = xf.double()
    val = torch.empty(rows.numel(), dtype=torch.float64, device=d.device)
    step = max(1, PAIR_CHUNK // max(1, x64.shape[1] // 64))
    for s in range(0, rows.numel(), step):
        r, j = rows[s : s + step], cols[s : s + step]
        val[s : s + step] = ((x64[r] - c64[j]) ** 2).sum(1)
    n = xf.shape[0]
    inf = torch.full((n,), float("inf"), dtype=torch.float64, device=d.device)
    rowmin = inf.scatter_reduce(0, rows, val, reduce="amin")
    at_min = val == rowmin[rows]
    big = torch.full((n,), c64.shape[0], dtype=torch.long, device=d.device)
    return big.scatter_reduce(0, rows[at_min], cols[at_min], reduce="amin")
