"""Scoring resynthesis without an ASR model: the unit error rate.

Re-tokenize the resynthesised audio with the tokenizer that made the units and compare the
two unit sequences: ``unit_error_rate(ref, hyp)`` is the Levenshtein distance (substitutions,
insertions, deletions, each 1) divided by the reference length. ``dedup=True`` (the default)
compares deduplicated sequences, the form unit language models emit, so a unit held one
frame longer or shorter costs nothing and only changes of unit identity count; ``dedup=False``
compares the frame-rate sequences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def dedup(units: Sequence[int] | np.ndarray) -> np.ndarray:
    u = np.asarray(units).reshape(-1)
    if u.size == 0:
        return u
    keep = np.ones(u.size, dtype=bool)
    keep[1:] = u[1:] != u[:-1]
    return u[keep]


def edit_distance(ref: Sequence[int] | np.ndarray, hyp: Sequence[int] | np.ndarray) -> int:
    """Levenshtein distance, one row of the table at a time (O(len(hyp)) memory).

    Within a row, ``cur[j] = min(best[j], cur[j - 1] + 1)`` (best = substitution or deletion)
    unrolls to ``j + min_{k <= j}(a[k])`` with ``a[k] = best[k] - k``: a cumulative minimum.
    """
    r, h = np.asarray(ref).reshape(-1), np.asarray(hyp).reshape(-1)
    cols = np.arange(len(h) + 1)
    prev = cols.copy()
    for i in range(1, len(r) + 1):
        best = np.empty_like(prev)
        best[0] = i
        best[1:] = np.minimum(prev[:-1] + (h != r[i - 1]), prev[1:] + 1)
        prev = np.minimum.accumulate(best - cols) + cols
    return int(prev[-1])


def unit_error_rate(
    ref_units: Sequence[int] | np.ndarray,
    hyp_units: Sequence[int] | np.ndarray,
    dedup_units: bool = True,
) -> float:
    """Edit distance / reference length (after deduplication when ``dedup_units``)."""
    r = dedup(ref_units) if dedup_units else np.asarray(ref_units).reshape(-1)
    h = dedup(hyp_units) if dedup_units else np.asarray(hyp_units).reshape(-1)
    if len(r) == 0:
        raise ValueError("unit error rate is undefined for an empty reference")
    return edit_distance(r, h) / len(r)
