"""Frame distances and batched dynamic time warping for ABX, in torch.

The definitions are those of the libri-light ABX (``eval/ABX_src``, MIT; repackaged as
``zerospeech-libriabx2``, MIT), read for the facts and written here for batches:

- features are L2-normalised per frame with one extra dimension, ``1e-12`` for every frame
  but ``-2e12`` for a null frame (which is replaced by the uniform unit vector): a null frame
  then sits at the largest cosine distance from every other frame and at 0 from another null
  frame;
- ``cosine`` is the angular distance ``arccos(clamp(<x, y>, -1, 1)) / pi`` in [0, 1]
  (``angular`` names the same); ``euclidean``; ``kl``: ``sum_d x_d log((x_d + e) / (y_d + e))``
  with ``e = 1e-6``, and ``kl_symmetric`` its mean with the reverse (for posteriorgrams);
- DTW: ``cost[i, j] = d[i, j] + min(cost[i-1, j], cost[i-1, j-1], cost[i, j-1])`` with free
  moves along the first row and column, and the result is the *frame-averaged* cost
  ``cost[n-1, m-1] / L``, L being the number of cells on the path found by walking back from
  the end and preferring the diagonal, then the left, then the upper cell, until the first row
  or column, from where the path runs straight to the origin.

The reference runs one DTW per pair in Cython; here a batch of pairs (padded to the longest)
advances one anti-diagonal at a time, and L is carried forward with the cost (the walk-back
choice at a cell depends only on its three predecessors), so every cell is computed once, in
float32, with the reference's additions in the reference's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

KL_EPSILON = 1e-6


def normalize_with_singularity(x: torch.Tensor) -> torch.Tensor:
    """``[N, D] -> [N, D + 1]``: unit frames plus the extra dimension (module docstring)."""
    import torch

    x = x.float()
    sq = (x * x).sum(dim=1, keepdim=True)
    null = (sq == 0).squeeze(1)
    y = x / sq.sqrt()
    y[null] = 1.0 / math.sqrt(x.shape[1])
    extra = torch.full((x.shape[0], 1), 1e-12, dtype=torch.float32, device=x.device)
    extra[null] = -2e12
    return torch.cat([y, extra], dim=1)


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b.transpose(1, 2)).clamp_(-1, 1).acos_().div_(math.pi)


def _euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # sum_d a_d (log(a_d + e) - log(b_d + e)) = <a, log(a + e)> - <a, log(b + e)>
    self_term = (a * (a + KL_EPSILON).log()).sum(-1, keepdim=True)
    return self_term - a @ (b + KL_EPSILON).log().transpose(1, 2)


def _kl_symmetric(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 0.5 * _kl(a, b) + 0.5 * _kl(b, a).transpose(1, 2)


# name -> batched frame distance: (a [B, N, D], b [B, M, D]) -> [B, N, M]
DISTANCES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cosine": _cosine,
    "angular": _cosine,
    "euclidean": _euclidean,
    "kl": _kl,
    "kl_symmetric": _kl_symmetric,
}


def dtw(dist: torch.Tensor, n: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Frame-averaged DTW cost of each pair: ``dist [B, N, M]`` (padded), valid sizes
    ``n [B]``, ``m [B]`` (each at least 1) -> ``[B]`` float32."""
    import torch

    b, rows, cols = dist.shape
    i, j = skew_index(rows, cols, dist.device)
    skew = dist.float().permute(1, 2, 0)[i, j.clamp(0, cols - 1)]
    skew[(j < 0) | (j >= cols)] = float("inf")
    return dtw_skewed(skew, torch.as_tensor(n), torch.as_tensor(m))


def skew_index(rows: int, cols: int, device: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(i, j) ``[rows + cols - 1, rows]``: row ``d`` of the skewed layout holds cell
    ``(i, d - i)``; ``j`` is out of range where the diagonal leaves the matrix."""
    import torch

    i = torch.arange(rows, device=device)[None, :]
    d = torch.arange(rows + cols - 1, device=device)[:, None]
    return i.expand(rows + cols - 1, rows), d - i


def dtw_skewed(skew: torch.Tensor, n: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """:func:`dtw` on distances in skewed layout ``[N + M - 1, N, B]`` (anti-diagonal d holds
    cell ``(i, d - i)`` at index i; +inf outside the matrix), the batch last. The walk keeps
    the two previous diagonals (padded with +inf at index -1), so a cell's three predecessors
    are slices and each step is a few vector operations over ``N x B`` values; a pair's result
    is taken when the walk passes its last cell."""
    import torch

    nd, rows, b = skew.shape
    dev = skew.device
    inf = float("inf")
    ar = torch.arange(b, device=dev)
    last = n.to(dev) + m.to(dev) - 2
    row = n.to(dev) - 1
    c2 = torch.full((rows + 1, b), inf, device=dev)  # diagonal k - 2
    c1 = torch.full((rows + 1, b), inf, device=dev)  # diagonal k - 1
    l2 = torch.zeros((rows + 1, b), device=dev)
    l1 = torch.zeros((rows + 1, b), device=dev)
    c1[1:] = skew[0]  # the origin: nothing before it
    l1[1] = 1
    out = torch.where(last == 0, c1[row + 1, ar], 0.0)
    for k in range(1, nd):
        c0 = torch.empty_like(c1)
        c0[0] = inf
        l0 = torch.empty_like(l1)
        l0[0] = 0
        up, left, diag = c1[:rows], c1[1:], c2[:rows]
        torch.add(skew[k], torch.minimum(torch.minimum(up, diag), left), out=c0[1:])
        # the walk back from (i, j): diagonal, else left, else up; on the first row or
        # column it runs straight to the origin: 1 + i + j = 1 + k cells
        take_diag = (diag <= left) & (diag <= up)
        take_left = (left <= up) & ~take_diag
        step = torch.where(take_diag, l2[:rows], torch.where(take_left, l1[1:], l1[:rows]))
        step += 1
        step[0] = k + 1
        if k < rows:
            step[k] = k + 1
        l0[1:] = step
        done = last == k
        if bool(done.any()):
            sel = ar[done]
            out[sel] = c0[row[sel] + 1, sel] / l0[row[sel] + 1, sel]
        c2, c1, l2, l1 = c1, c0, l1, l0
    return out


def pair_costs(
    frames: torch.Tensor,
    starts: torch.Tensor,
    sizes: torch.Tensor,
    pairs: torch.Tensor,
    distance: str,
    *,
    max_cells: int = 1 << 22,
) -> torch.Tensor:
    """DTW cost of each ordered pair of items: ``frames [F, D]`` (all items' frames, already
    normalised), item ``starts``/``sizes`` ``[I]``, ``pairs [P, 2]`` item indices (the first
    gives the rows of the distance matrix) -> ``[P]`` float32.

    Pairs run in batches of similar sizes (at most ``max_cells`` padded cells). Where all
    frames against all frames fit in ``2 * max_cells`` entries, that matrix is computed once
    (one matrix product) and each batch reads its blocks from it; otherwise each batch
    computes the distances of its own pairs (a batched product over their frames), so time
    and memory grow with the pairs asked for, not with the square of the corpus."""
    import torch

    fn = DISTANCES[distance]
    out = torch.empty(len(pairs), dtype=torch.float32)
    if len(pairs) == 0:
        return out
    total, dim = frames.shape
    flat = None
    if total * total <= 2 * max_cells:
        flat = fn(frames[None], frames[None])[0].reshape(-1)
    s1, s2 = sizes[pairs[:, 0]], sizes[pairs[:, 1]]
    order = torch.argsort(s1 * (int(s2.max()) + 1) + s2)
    per_frame = 0 if flat is not None else dim
    n_items = len(sizes)
    for run in _batches(order, s1, s2, max_cells, per_frame):
        # within a batch, pairs by (row item, column item): neighbouring reads of the matrix
        idx = run[torch.argsort(pairs[run, 0] * n_items + pairs[run, 1])]
        a, b = pairs[idx, 0], pairs[idx, 1]
        na, nb = sizes[a], sizes[b]
        w1, w2 = int(na.max()), int(nb.max())
        i, j = skew_index(w1, w2)
        # cell (i, j) of each pair in skewed layout [w1 + w2 - 1, w1, B], +inf outside the
        # matrix; padding cells hold some other frame's distance: they never reach a valid cell
        outside = torch.zeros(j.shape)
        outside[(j < 0) | (j >= w2)] = float("inf")
        jc = j.clamp(0, w2 - 1)
        if flat is not None:
            base = starts[a] * total + starts[b]
            lin = (i * total + jc)[..., None] + base[None, None, :]
            skew = torch.take(flat, lin.clamp_(max=len(flat) - 1))
        else:
            dist = fn(_gather(frames, starts[a], na, w1), _gather(frames, starts[b], nb, w2))
            lin = (i * w2 + jc)[..., None] + (torch.arange(len(idx)) * (w1 * w2))[None, None, :]
            skew = torch.take(dist, lin)
        skew += outside[..., None]
        out[idx] = dtw_skewed(skew, na, nb).cpu()
    return out


def _batches(
    order: torch.Tensor, s1: torch.Tensor, s2: torch.Tensor, max_cells: int, dim: int
) -> Iterator[torch.Tensor]:
    """Consecutive runs of ``order`` whose padded DTW area (and, with ``dim``, gathered
    frames) stays within ``max_cells``; a run has at least one pair."""
    pos = 0
    while pos < len(order):
        hi, step = pos + 1, 1
        while hi < len(order):
            nxt = min(len(order), hi + step)
            run = order[pos:nxt]
            w1, w2 = int(s1[run].max()), int(s2[run].max())
            if len(run) * max(w1 * w2, (w1 + w2) * dim) > max_cells:
                break
            hi, step = nxt, step * 2
        yield order[pos:hi]
        pos = hi


def _gather(
    frames: torch.Tensor, starts: torch.Tensor, sizes: torch.Tensor, width: int
) -> torch.Tensor:
    """``[B, width, D]``: each item's frames, zero-padded."""
    import torch

    offs = torch.arange(width)
    idx = (starts[:, None] + offs[None, :]).clamp_(max=frames.shape[0] - 1)
    valid = offs[None, :] < sizes[:, None]
    return frames[idx] * valid[..., None].to(frames.dtype)
