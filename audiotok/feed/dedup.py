"""Deduplication with durations: runs of repeated frames -> one unit + its run length.

GSLM-style unit LMs train on deduplicated semantic units and predict the durations apart.
Only semantic streams may be deduplicated: an RVQ codebook repeats codes by accident, not
by meaning, and dropping frames of one codebook would desynchronise it from the others.
"""

from __future__ import annotations

import numpy as np


def dedup(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """codes [R, T] -> (units [R, N], durations int64 [N]): a new run starts wherever any row
    changes. ``expand(units, durations)`` gives the codes back."""
    c = np.asarray(codes)
    if c.ndim != 2:
        raise ValueError(f"dedup takes [R, T] codes, got {c.shape}")
    t = c.shape[1]
    if t == 0:
        return c.copy(), np.zeros(0, np.int64)
    change = np.ones(t, dtype=bool)
    change[1:] = np.any(c[:, 1:] != c[:, :-1], axis=0)
    starts = np.flatnonzero(change)
    durations = np.diff(np.append(starts, t)).astype(np.int64)
    return c[:, starts], durations


def expand(units: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """Inverse of ``dedup``: repeat each column of units [R, N] by its duration."""
    u, d = np.asarray(units), np.asarray(durations, dtype=np.int64)
    if u.ndim != 2 or u.shape[1] != len(d):
        raise ValueError(f"{u.shape[-1]} units but {len(d)} durations")
    if np.any(d < 1):
        raise ValueError("durations must be at least 1 frame")
    return np.repeat(u, d, axis=1)
