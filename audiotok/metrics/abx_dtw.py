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
from collections.abc import Callable
from typing import TYPE_CHECKING

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
    ``n [B]``, ``m [B]`` (each at least 1) -> ``[B]`` float32. Cell (i, j) is stored at
    (i + 1, j + 1) behind a border of +inf (the origin's predecessor is 0)."""
    import torch

    b, rows, cols = dist.shape
    dist = dist.float()
    cost = torch.full((b, rows + 1, cols + 1), float("inf"), device=dist.device)
    cost[:, 0, 0] = 0.0
    length = torch.zeros((b, rows + 1, cols + 1), dtype=torch.int32, device=dist.device)
    for d in range(rows + cols - 1):
        i = torch.arange(max(0, d - cols + 1), min(d, rows - 1) + 1, device=dist.device)
        j = d - i
        up, diag, left = cost[:, i, j + 1], cost[:, i, j], cost[:, i + 1, j]
        best = torch.minimum(torch.minimum(up, diag), left)
        cost[:, i + 1, j + 1] = dist[:, i, j] + best
        # the walk back from (i, j): diagonal, else left, else up; straight on the border
        take_diag = (diag <= left) & (diag <= up)
        take_left = ~take_diag & (left <= up)
        prev = torch.where(
            take_diag,
            length[:, i, j],
            torch.where(take_left, length[:, i + 1, j], length[:, i, j + 1]),
        )
        border = ((i == 0) | (j == 0)).expand_as(prev)
        length[:, i + 1, j + 1] = torch.where(border, (1 + i + j).int(), prev + 1)
    ar = torch.arange(b, device=dist.device)
    return cost[ar, n, m] / length[ar, n, m].float()


def pair_costs(
    frames: torch.Tensor,
    starts: torch.Tensor,
    sizes: torch.Tensor,
    pairs: torch.Tensor,
    distance: str,
    *,
    max_cells: int = 1 << 24,
) -> torch.Tensor:
    """DTW cost of each ordered pair of items: ``frames [F, D]`` (all items' frames, already
    normalised), item ``starts``/``sizes`` ``[I]``, ``pairs [P, 2]`` item indices (the first is
    the rows of the distance matrix) -> ``[P]`` float32. Pairs are sorted by size and run in
    chunks of at most ``max_cells`` distance cells."""
    import torch

    fn = DISTANCES[distance]
    out = torch.empty(len(pairs), dtype=torch.float32)
    if len(pairs) == 0:
        return out
    s1, s2 = sizes[pairs[:, 0]], sizes[pairs[:, 1]]
    order = torch.argsort(s1 * (int(sizes.max()) + 1) + s2)
    pos = 0
    while pos < len(order):
        # grow the chunk while its padded area stays under max_cells
        hi = pos + 1
        step = 1
        while hi < len(order):
            nxt = min(len(order), hi + step)
            idx = order[pos:nxt]
            if int(s1[idx].max()) * int(s2[idx].max()) * len(idx) > max_cells:
                break
            hi, step = nxt, step * 2
        idx = order[pos:hi]
        a, b = pairs[idx, 0], pairs[idx, 1]
        na, nb = sizes[a], sizes[b]
        xa = _gather(frames, starts[a], na, int(na.max()))
        xb = _gather(frames, starts[b], nb, int(nb.max()))
        out[idx] = dtw(fn(xa, xb), na, nb).cpu()
        pos = hi
    return out


def _gather(
    frames: torch.Tensor, starts: torch.Tensor, sizes: torch.Tensor, width: int
) -> torch.Tensor:
    """``[B, width, D]``: each item's frames, zero-padded."""
    import torch

    offs = torch.arange(width)
    idx = starts[:, None] + offs[None, :]
    valid = offs[None, :] < sizes[:, None]
    out = frames[idx.clamp_(max=frames.shape[0] - 1)]
    return out * valid[..., None].to(out.dtype)
