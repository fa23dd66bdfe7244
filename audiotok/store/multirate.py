"""Rows of multi-rate tokens (SNAC): each codebook at its own frame rate.

A spec with ``codebook_frame_rates`` has integer ``strides`` (finest frames per code of each
codebook). Its rows are stored *ragged*: in Parquet, ``codes`` is ``list<list<uint16>>`` whose
inner list k holds ``T' / strides[k]`` codes (``T'`` = ``num_frames``, counted in the finest
frames, a multiple of the largest stride); the flat copy holds the codebooks back to back
(codebook 0's codes, then codebook 1's, ...), row after row.

Readers give two views of a row: :func:`split` (one array per codebook at its own rate, views
of the stored values) and :func:`expand` (the ``[K, T']`` layout of the codec contract: each
code repeated ``strides[k]`` times, a copy), which is what ``TokenStore.get`` and iteration
return so that every ``[K, T']`` consumer (decoding, the feed) reads multi-rate rows as it
reads others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from audiotok.errors import InvalidTokensError


def units(frames: int, strides: Sequence[int]) -> int:
    """Stored codes of a row of ``frames`` finest frames."""
    return sum(frames // s for s in strides)


def frames_of(n_units: int, strides: Sequence[int]) -> int | None:
    """Finest frames of a row of ``n_units`` stored codes (None: no whole number of groups)."""
    group = max(strides)
    per_group = sum(group // s for s in strides)
    return None if n_units % per_group else n_units // per_group * group


def units_per_row(frames: np.ndarray, strides: Sequence[int], ids: Any) -> np.ndarray:
    """Stored codes of each row from its ``num_frames``; ValueError naming the first row whose
    frames are not a whole number of coarse frames (a damaged store)."""
    group = max(strides)
    bad = np.flatnonzero(frames % group)
    if len(bad):
        raise ValueError(
            f"row {str(ids[int(bad[0])])!r} has {int(frames[bad[0]])} frames, not a multiple "
            f"of the coarsest stride {group}"
        )
    return frames // group * sum(group // s for s in strides)


def frames_per_row(n_units: np.ndarray, strides: Sequence[int]) -> np.ndarray:
    """Finest frames of each row from its stored codes (rows already checked)."""
    group = max(strides)
    return n_units // sum(group // s for s in strides) * group


def check_ragged(
    inner: np.ndarray, outer: np.ndarray, ids: Sequence[str], strides: Sequence[int]
) -> None:
    """Parquet offsets of a shard's ``codes`` (outer: rows -> codebooks, inner: codebooks ->
    codes): every row must hold K codebooks spanning the same whole number of coarse frames;
    ValueError naming the first row that does not."""
    k, group = len(strides), max(strides)
    per_row = np.diff(outer)
    if len(per_row) != len(ids) or np.any(per_row != k):
        bad = int(np.flatnonzero(per_row != k)[0]) if np.any(per_row != k) else 0
        raise ValueError(f"row {ids[bad]!r} does not hold {k} codebooks")
    spans = np.diff(inner)[: k * len(ids)].reshape(-1, k) * np.asarray(strides)
    bad_rows = np.flatnonzero((spans != spans[:, :1]).any(1) | (spans[:, 0] % group != 0))
    if len(bad_rows):
        raise ValueError(
            f"row {ids[int(bad_rows[0])]!r} has codebooks of lengths that do not fit strides "
            f"{list(strides)}"
        )


def split(flat: np.ndarray, strides: Sequence[int]) -> list[np.ndarray]:
    """A row's stored codes -> one array per codebook (views)."""
    frames = frames_of(len(flat), strides)
    if frames is None:
        raise ValueError(f"{len(flat)} codes are not a whole number of frames")
    out, a = [], 0
    for s in strides:
        out.append(flat[a : a + frames // s])
        a += frames // s
    return out


def expand(flat: np.ndarray, strides: Sequence[int]) -> np.ndarray:
    """A row's stored codes -> ``[K, T']``, codebook k's codes each repeated ``strides[k]``
    times."""
    return np.stack([np.repeat(c, s) for c, s in zip(split(flat, strides), strides, strict=True)])


def to_flat(utt_id: str, codes: Any, strides: Sequence[int]) -> np.ndarray:
    """Codes of one row, given either as ``[K, T']`` in the repeated layout (a codec's output;
    the repeats must agree) or as K arrays of ``T' / strides[k]`` codes -> the stored values
    (1-D, codebooks back to back). InvalidTokensError names what does not fit."""
    k, group = len(strides), max(strides)
    if any(group % s for s in strides):
        raise InvalidTokensError(f"codebook strides {list(strides)} do not divide each other")
    if isinstance(codes, (list, tuple)):
        parts = [np.asarray(c) for c in codes]
        if len(parts) != k or any(p.ndim != 1 for p in parts):
            raise InvalidTokensError(
                f"utterance {utt_id!r}: multi-rate codes must be {k} 1-D arrays, one per codebook"
            )
        frames = len(parts[-1]) * strides[-1]
        if any(len(p) * s != frames for p, s in zip(parts, strides, strict=True)):
            raise InvalidTokensError(
                f"utterance {utt_id!r}: codebook lengths {[len(p) for p in parts]} do not fit "
                f"strides {list(strides)}"
            )
    else:
        c = np.asarray(codes)
        if c.ndim != 2 or c.shape[0] != k:
            raise InvalidTokensError(
                f"utterance {utt_id!r}: codes must be [K={k}, T'], got shape {tuple(c.shape)}"
            )
        frames = c.shape[1]
        if frames % group:
            raise InvalidTokensError(
                f"utterance {utt_id!r}: {frames} frames is not a multiple of {group} (the "
                "coarsest codebook's stride)"
            )
        parts = []
        for i, s in enumerate(strides):
            g = c[i].reshape(-1, s)
            if s > 1 and np.any(g != g[:, :1]):
                raise InvalidTokensError(
                    f"utterance {utt_id!r}: codebook {i} runs at 1/{s} of the frame rate, but "
                    f"its codes are not repeated {s} times"
                )
            parts.append(g[:, 0])
    if frames % group:
        raise InvalidTokensError(
            f"utterance {utt_id!r}: {frames} frames is not a multiple of {group}"
        )
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)
