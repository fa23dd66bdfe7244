"""Codebook quality: cluster usage, unit entropy and bitrate, and phone-based cluster quality.

With phone labels ``y`` and units ``z`` counted frame by frame into a joint distribution
``p(y, z)``, the measures follow HuBERT (Hsu et al. 2021, "HuBERT: Self-Supervised Speech
Representation Learning by Masked Prediction of Hidden Units", IEEE/ACM TASLP; its analysis
of cluster quality against forced-aligned phones):

- phone purity   ``E_z[max_y p(y | z)]``: frame accuracy when each unit is read as its most
  frequent phone;
- cluster purity ``E_y[max_z p(z | y)]``: the same with the roles swapped;
- PNMI           ``I(y; z) / H(y)``: the share of the phone's uncertainty a unit removes.

Frames are matched to phones by their centre time (``frame_centre``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiotok.errors import AudiotokError

TINY_SHARE = 0.1  # a unit is "tiny" below 10% of the uniform share N / k


def usage_stats(counts: np.ndarray) -> dict:
    counts = np.asarray(counts, dtype=np.int64)
    n, k = int(counts.sum()), len(counts)
    tiny_at = TINY_SHARE * n / k if k else 0
    p = counts[counts > 0] / max(n, 1)
    h = float(-(p * np.log2(p)).sum()) if n else 0.0
    return {
        "frames": n,
        "k": k,
        "used": int((counts > 0).sum()),
        "dead": int((counts == 0).sum()),
        "tiny": int(((counts > 0) & (counts < tiny_at)).sum()),
        "tiny_below_frames": float(tiny_at),
        "entropy_bits": h,
        "perplexity": float(2.0**h),
        "max_entropy_bits": float(np.log2(k)) if k else 0.0,
    }


def phone_stats(joint: np.ndarray) -> dict:
    """Purities and PNMI of a joint count matrix [num_phones, k] (rows phones, cols units)."""
    joint = np.asarray(joint, dtype=np.float64)
    y, z = np.nonzero(joint)
    return _pair_stats(y, z, joint[y, z])


def frame_phone_stats(phones: np.ndarray, units: np.ndarray) -> dict:
    """:func:`phone_stats` of frames given as (phone id, unit id) pairs, counted sparsely: a
    unit space too large for a dense matrix (tuples of codes) costs only its distinct pairs."""
    phones = np.asarray(phones, dtype=np.int64)
    units = np.asarray(units, dtype=np.int64)
    if len(phones) == 0:
        return _pair_stats(phones, units, np.zeros(0))
    n_units = int(units.max()) + 1
    pair, count = np.unique(phones * n_units + units, return_counts=True)
    return _pair_stats(pair // n_units, pair % n_units, count.astype(np.float64))


def _pair_stats(y: np.ndarray, z: np.ndarray, count: np.ndarray) -> dict:
    """The one computation of PNMI and purities: nonzero counts of (phone y, unit z) pairs."""
    n = float(count.sum())
    if n <= 0:
        raise AudiotokError("no frame fell inside a phone alignment: check ids and --align")
    p = count / n
    py = np.bincount(y, weights=p)
    pz = np.bincount(z, weights=p)
    best_y_per_z = np.zeros(len(pz))  # max_y p(y, z)
    np.maximum.at(best_y_per_z, z, p)
    best_z_per_y = np.zeros(len(py))  # max_z p(y, z)
    np.maximum.at(best_z_per_y, y, p)
    mi = float((p * np.log(p / (py[y] * pz[z]))).sum())
    hy = float(-(py[py > 0] * np.log(py[py > 0])).sum())
    return {
        "aligned_frames": int(round(n)),
        "phones": int((py > 0).sum()),
        "phone_purity": float(best_y_per_z.sum()),  # sum_z p(z) max_y p(y|z)
        "cluster_purity": float(best_z_per_y.sum()),  # sum_y p(y) max_z p(z|y)
        "pnmi": mi / hy if hy > 0 else 0.0,
        "mutual_information_bits": mi / np.log(2),
        "phone_entropy_bits": hy / np.log(2),
    }


def read_alignment(path: Path) -> list[tuple[float, float, str]]:
    """``start_s<TAB>end_s<TAB>phone`` lines (a header line, if any, is skipped)."""
    segs = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            segs.append((float(parts[0]), float(parts[1]), parts[2].strip()))
        except (ValueError, IndexError):
            if n == 1:
                continue
            raise AudiotokError(f"{path}:{n}: expected start_s<TAB>end_s<TAB>phone") from None
    return segs


def frame_centre(num_frames: int, frame_rate: float, window_s: float) -> np.ndarray:
    """Centre time of frame i: ``i / frame_rate + window_s / 2`` (frame i's window starts at
    ``i / frame_rate``; 25 ms windows for MFCC and for HuBERT-style 400-sample conv stacks)."""
    return np.arange(num_frames) / frame_rate + window_s / 2


def frame_phones(
    segs: list[tuple[float, float, str]], num_frames: int, frame_rate: float, window_s: float
) -> list[str | None]:
    """The phone whose segment [start, end) holds each frame's centre (None: outside all)."""
    t = frame_centre(num_frames, frame_rate, window_s)
    out: list[str | None] = [None] * num_frames
    if not segs:
        return out
    segs = sorted(segs)
    starts = np.array([s for s, _, _ in segs])
    idx = np.searchsorted(starts, t, side="right") - 1
    for i, j in enumerate(idx.tolist()):
        if j >= 0 and t[i] < segs[j][1]:
            out[i] = segs[j][2]
    return out
