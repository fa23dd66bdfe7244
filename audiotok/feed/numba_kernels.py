"""The packed feed's token work compiled with numba (the ``fast`` extra): the same results as
the numpy code in ``FeedEncoder.encode_block`` and ``Packer.emit``, byte for byte (the tests
compare them), each in one pass.

Imported only through ``audiotok.feed.kernels`` when numba is installed and chosen. Compiled on
first use and cached on disk by numba (``cache=True``: next to this file, or numba's user cache
folder where that is read-only); where no folder is writable (numba then refuses ``cache=True``)
they are compiled in each process instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit


def _jit(fn: Callable[..., Any]) -> Any:
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available": no writable folder
        return njit(nogil=True)(fn)


# Each loop below is written over slices, so its indices start at 0 and LLVM can vectorise it
# (an index that might be negative keeps numba's wraparound check, and the loop scalar); the
# five outputs are written by separate loops for the same reason.


@_jit
def flatten(values, starts, frames, out_start, k, rows, offsets, sizes, out):
    """Document d's codes ``values[starts[d]:][:k * frames[d]]`` ([k, T], row-major) written
    frame-major from ``out[out_start[d]]``: its rows ``rows`` (in that order) with ``offsets``
    added, cast to ``out``'s dtype. Returns -1, or the first document with a code outside
    ``0..sizes[j] - 1`` of its row (then ``out`` is partly written; the caller raises)."""
    r = rows.shape[0]
    for d in range(starts.shape[0]):
        t = frames[d]
        doc = values[starts[d] : starts[d] + k * t]
        dst = out[out_start[d] : out_start[d] + r * t]
        for j in range(r):
            row = doc[rows[j] * t : rows[j] * t + t]
            off, size = offsets[j], sizes[j]
            bad = False
            for f in range(t):
                v = row[f]
                bad |= (v < 0) | (v >= size)
                dst[f * r + j] = v + off
            if bad:
                return d
    return -1


@_jit
def pack(buf, ends, first_offset, c, real, length, pad, out):
    """One packed batch written from ``buf[c:]``: rows 0..4 of ``out`` ([5, total] int64) are
    input_ids, labels, doc_ids, position_ids and attention_mask, as ``Packer.emit`` defines
    them (``ends``: the buffered documents' ends in ``buf``; ``real`` positions with a next
    token, padding after them)."""
    total = out.shape[1]
    x, labels, doc_ids, pos, mask = out[0], out[1], out[2], out[3], out[4]
    src = buf[c : c + real + 1]
    for i in range(real):
        x[i] = src[i]
    for i in range(real):
        labels[i] = src[i + 1]
    for i in range(real):
        mask[i] = 1
    # piece by piece, as Packer._write: positions inside each document, and doc_ids
    lo = np.searchsorted(ends, c, side="right")
    hi = np.searchsorted(ends, c + real - 1, side="right")
    a = 0
    n = 0
    for d in range(lo, hi + 1):
        b = ends[d] - c if d < hi else real
        first = a - ((ends[d - 1] if d > 0 else -first_offset) - c)  # position at a
        into = a % length
        n = n + 1 if (into != 0 and a != 0) else 0
        e = min(b, a - into + length)
        piece = pos[a:b]
        for i in range(b - a):
            piece[i] = first + i
        same = doc_ids[a:e]
        for i in range(e - a):
            same[i] = n
        if e < b:  # the document runs on into the next contexts
            later = doc_ids[e:b]
            for i in range(b - e):
                later[i] = 0
            n = 0
        a = b
    for i in range(real, total):  # the stream's last batch: padding
        x[i] = pad
        labels[i] = -100
        doc_ids[i] = -1
        pos[i] = 0
        mask[i] = 0
