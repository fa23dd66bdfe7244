"""The packer: one token stream (documents back to back) cut into fixed-length contexts with
their labels, document ids, positions and attention mask, in numpy (see
``audiotok.feed.iterable`` for the cut, after Megatron-LM's GPTDataset)."""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import torch

__all__ = ["KEYS", "Packer"]

# the five tensors of a packed batch, in their order in its storage
KEYS = ("input_ids", "labels", "doc_ids", "position_ids", "attention_mask")


class Packer:
    """One token stream (documents back to back) cut into contexts of ``length`` + 1 tokens
    with a stride of ``length``. Holds one buffer, the documents it spans and a cursor."""

    def __init__(self, length: int, batch: int, pad: int, empty: Any = None, kernels: Any = None):
        """``kernels``: the compiled kernels' module (``feed.kernels.load``), or None: numpy."""
        self.length, self.pad, self.kernels = length, pad, kernels
        self.empty = empty or (lambda shape: torch.empty(shape, dtype=torch.int64))
        self.need = batch * length + 1
        self.buf: np.ndarray = np.zeros(0, np.int64)  # tokens in the vocabulary's dtype
        self.ends = np.zeros(0, np.int64)  # end of each buffered document in buf
        self._ends: list[int] = []  # the same, as Python ints (bisect per batch)
        self.pos = np.zeros(0, np.int64)  # its position in the slot
        self.first_offset = 0  # buf[0]'s offset inside the first buffered document
        self.cursor = 0
        self._range = np.zeros(0, np.int64)

    def available(self) -> int:
        return len(self.buf) - self.cursor

    def full(self) -> bool:
        return self.available() >= self.need

    def add(
        self, tokens: np.ndarray, lengths: np.ndarray, pos: np.ndarray, skip: int, lead: int = 0
    ) -> None:
        """Documents ``pos`` (``lengths`` tokens each, the first one ``skip`` tokens short)
        from ``tokens[lead:]``; ``lead`` is 0 or ``available()``: room the tokens still
        buffered are copied into (``FeedEncoder.encode_block(..., lead=)``), which saves
        concatenating the two."""
        lengths = lengths.copy()
        if len(lengths):
            lengths[0] -= skip
        left = self.available()
        if left == 0:
            self.buf, self.first_offset = tokens[lead:], skip
            self.ends, self.pos, self.cursor = np.cumsum(lengths), pos, 0
            self._ends = self.ends.tolist()
            return
        if lead not in (0, left):
            raise ValueError(f"lead {lead}: the packer holds {left} tokens")
        d = int(np.searchsorted(self.ends, self.cursor, side="right"))  # document at the cursor
        start = int(self.ends[d - 1]) if d else 0
        into = self.cursor - start + (self.first_offset if d == 0 else 0)
        kept_ends = self.ends[d:] - self.cursor
        if lead:
            tokens[:lead] = self.buf[self.cursor :]
            self.buf = tokens
        else:
            self.buf = np.concatenate([self.buf[self.cursor :], tokens])
        self.ends = np.concatenate([kept_ends, kept_ends[-1] + np.cumsum(lengths)])
        self.pos = np.concatenate([self.pos[d:], pos])
        self.first_offset, self.cursor = into, 0
        self._ends = self.ends.tolist()

    def where(self) -> tuple[int, int]:
        """(document, offset) where the stream continues."""
        if self.cursor >= len(self.buf):
            return (int(self.pos[-1]) + 1 if len(self.pos) else 0), 0
        d = bisect.bisect_right(self._ends, self.cursor)
        start = self._ends[d - 1] if d else 0
        return int(self.pos[d]), self.cursor - start + (self.first_offset if d == 0 else 0)

    def emit(self, contexts: int) -> tuple[dict[str, Any], tuple[int, int]]:
        """``contexts`` contexts from the cursor (the last may be padded); advances the cursor
        to the last label, which is the next context's first input.

        The five tensors are views of one int64 storage, written in place: one allocation per
        batch, and one shared-memory segment when a DataLoader worker sends it."""
        length, c = self.length, self.cursor
        total = contexts * length
        real = min(total, self.available() - 1)  # input positions that have a next token
        storage = self.empty((5, contexts, length))
        out = storage.numpy().reshape(5, -1)
        if self.kernels is not None:  # the same values, in one compiled pass
            self.kernels.pack(self.buf, self.ends, self.first_offset, c, real, length, self.pad,
                              out)  # fmt: skip
        else:
            self._write(out, c, real)
        batch: dict[str, Any] = dict(zip(KEYS, storage.unbind(0), strict=True))
        self.cursor = min(c + total, len(self.buf))
        return batch, self.where()

    def _write(self, out: np.ndarray, c: int, real: int) -> None:
        """``emit``'s five arrays, in numpy."""
        length, total = self.length, out.shape[1]
        # the documents the window [c, c + real) crosses, and where each piece starts
        ends = self._ends
        lo = bisect.bisect_right(ends, c)  # real >= 1: emit follows available() >= 2
        hi = bisect.bisect_right(ends, c + real - 1)
        x, labels, doc_ids, pos, mask = out
        x[:real] = self.buf[c : c + real]
        labels[:real] = self.buf[c + 1 : c + real + 1]
        mask[:real] = 1
        at = self._arange(real)
        # piece by piece (the documents lo..hi the window crosses): positions inside the
        # document, and doc_ids = documents started inside the context up to each position
        # (a start at a context's first position not counted): a piece's part in the context
        # it starts in gets the running count, its parts in later contexts 0
        a = n = 0
        for d in range(lo, hi + 1):
            b = ends[d] - c if d < hi else real
            doc_start = (ends[d - 1] if d else -self.first_offset) - c
            np.subtract(at[a:b], doc_start, out=pos[a:b])
            into = a % length
            n = n + 1 if into and a else 0
            e = min(b, a - into + length)
            doc_ids[a:e] = n
            if e < b:  # the document runs on into the next contexts
                doc_ids[e:b] = n = 0
            a = b
        if real < total:  # the stream's last batch: padding after the last real position
            x[real:], labels[real:], pos[real:], mask[real:] = self.pad, -100, 0, 0
            doc_ids[real:] = -1

    def _arange(self, n: int) -> np.ndarray:
        if len(self._range) < n:
            self._range = np.arange(max(n, self.need), dtype=np.int64)
        return self._range[:n]
