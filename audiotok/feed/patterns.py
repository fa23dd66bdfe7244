"""Patterns: how the rows of ids ``[R, T]`` (one row per stream, offsets already applied by the
VocabSpec) are laid out for a language model. Each pattern is invertible: ``invert(apply(x))``
gives ``x`` back, for every T >= 0 and R >= 1.

- ``flatten`` -> ``[T * R]``, frame-major (t0r0 t0r1 ... t1r0 ...): AudioLM's flattening of
  codebooks with per-codebook offsets;
- ``parallel`` -> ``[R, T]``: VALL-E's NAR input (audiocraft's ParallelPatternProvider
  without its leading special step);
- ``delay`` -> ``[R, 1 + T + D]``: MusicGen (audiocraft's DelayedPatternProvider);
- ``multistream`` -> ``[R, 1 + T + D]``: Moshi's text + semantic + acoustic streams with
  per-stream delays;
- ``coarse_first`` -> ``[R, 1 + T + T + D']``: audiocraft's CoarseFirstPattern;
- ``valle`` -> ``{"ar": [T], "nar": [R - 1, T]}``: VALL-E, codebook 0 for the AR model and
  the rest for the NAR model;
- ``coarse_to_fine`` -> ``[T / L * n]``: multi-rate codebooks (SNAC), one group of ``n``
  tokens per frame of the coarsest codebook (``L`` finest frames), the codebooks' codes of
  that span in depth-first order: for SNAC 24 kHz (strides 4, 2, 1) the 7 tokens
  ``c0[i], c1[2i], c2[4i], c2[4i+1], c1[2i+1], c2[4i+2], c2[4i+3]`` of Orpheus TTS (its
  decoder reads positions 0 / 1, 4 / 2, 3, 5, 6 of each group of 7 as codebooks 0 / 1 / 2:
  canopyai/Orpheus-TTS, ``orpheus_tts_pypi/orpheus_tts/decoder.py``). Orpheus also gives each
  of the 7 positions its own 4096-id range; here, as in every pattern, the vocabulary gives
  each codebook one range (:mod:`audiotok.feed.slots` gives each position one instead). With
  all strides 1 it is ``flatten``.
- ``orpheus`` -> ``[T / 4 * 7]``: coarse_to_fine over a per-slot vocabulary of SNAC 24 kHz
  codes (strides 4, 2, 1), Orpheus TTS's ids: position ``p`` of every group of 7 has its own
  range, ``id = offset + p * size + code`` (see :mod:`audiotok.feed.slots`).

Multi-rate rows reach patterns in the store's ``[K, T']`` layout (each code of codebook k
repeated ``strides[k]`` times); only patterns with ``multirate`` take them, the others refuse
with one line (:meth:`Pattern.check`), as they would repeat coarse codes.

Delay layouts follow audiocraft's ``codebooks_patterns.py``: step 0 holds the special
``empty`` token in every row (the step the model predicts the first frame from), stream r's
frame t sits at step ``1 + t + delay_r``, and every other position holds ``empty`` (MusicGen's
special token, ``card`` in its separate tables). ``D = max(delay)``. ``delay`` and
``multistream`` are the same layout; they differ in the delays chosen when the vocabulary is
built for them (``musicgen``: codebook j delayed by j; ``moshi``: acoustic streams 1, others 0).
``coarse_first`` puts row 0 at steps ``1..T``, then rows ``1..R-1`` from step ``1 + T`` on with
their delays (row 0's delay must be 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiotok.feed.slots import PER_CODEBOOK, PER_SLOT
from audiotok.feed.slots import tree_order as _tree_order
from audiotok.feed.vocab import VocabError

FLAT, ROWS, SPLIT = "flat", "rows", "split"


@dataclass(frozen=True)
class Pattern:
    name: str
    output: str  # flat | rows | split
    default_delays: str = "none"  # the VocabSpec.build preset used when the pattern picks it
    uses_delays: bool = False
    needs_shared: bool = False  # rows share one sequence, so their ids must not overlap
    multirate: bool = False  # lays out codebooks of different frame rates (takes strides)
    positions: str = PER_CODEBOOK  # the VocabSpec.build positions used when the pattern picks it
    strides: tuple[int, ...] | None = None  # the only codebook strides it lays out (None: any)

    def check_strides(self, strides: Sequence[int], name: str = "these codebooks") -> None:
        """A pattern made for one shape of codes (orpheus: SNAC 24 kHz) refuses another."""
        if self.strides is not None and tuple(int(s) for s in strides) != self.strides:
            raise VocabError(
                f"pattern {self.name} lays out {len(self.strides)} codebooks at strides "
                f"{', '.join(map(str, self.strides))} (SNAC 24 kHz); {name} has strides "
                f"{[int(s) for s in strides]}: use coarse_to_fine"
            )

    def check(
        self,
        delays: np.ndarray,
        shared: bool,
        strides: np.ndarray | None = None,
        slotted: bool = False,
    ) -> None:
        """``strides``: each stream's; ``slotted``: the vocabulary is per-slot
        (:mod:`audiotok.feed.slots`), its streams whole groups in coarse_to_fine order."""
        if slotted and not self.multirate:
            raise VocabError(
                f"a per-slot vocabulary lays out multi-rate groups; pattern {self.name} does "
                f"not: use {', '.join(p.name for p in PATTERNS.values() if p.multirate)}"
            )
        if self.positions == PER_SLOT and not slotted:
            raise VocabError(
                f"pattern {self.name} gives each position of a group its own id range: build "
                "the vocabulary with positions='per_slot' (the default for this pattern)"
            )
        if self.strides is not None and strides is not None and slotted:
            per_stream = [self.strides[k] for k, _ in _tree_order(self.strides)]
            if [int(s) for s in strides] != per_stream:
                self.check_strides(sorted(set(strides.tolist()), reverse=True))
        if strides is not None and np.any(strides != 1) and not self.multirate:
            raise VocabError(
                f"pattern {self.name} puts every codebook at one frame rate, but these "
                f"codebooks run at different rates (strides {strides.tolist()}): use "
                f"{', '.join(p.name for p in PATTERNS.values() if p.multirate)}"
            )
        if not self.uses_delays and delays.any():
            raise VocabError(
                f"pattern {self.name} does not delay streams, but the vocabulary gives delays "
                f"{delays.tolist()}; build it with delays='none' or use pattern delay"
            )
        if self.needs_shared and len(delays) > 1 and not shared:
            raise VocabError(
                f"pattern {self.name} puts {len(delays)} streams in one sequence: it needs the "
                "shared vocabulary layout (separate tables would give two codes the same id)"
            )
        if self.name == "coarse_first" and len(delays) and delays[0] != 0:
            raise VocabError("coarse_first: the first (coarse) stream cannot be delayed")

    def apply(
        self, ids: np.ndarray, delays: np.ndarray, empty: int, strides: np.ndarray | None = None
    ) -> Any:
        if self.multirate:
            return _coarse_to_fine(ids, _strides(strides, ids.shape[0]))
        return _APPLY[self.name](ids, delays, empty)

    def invert(
        self, x: Any, rows: int, delays: np.ndarray, empty: int, strides: np.ndarray | None = None
    ) -> np.ndarray:
        if self.multirate:
            return _uncoarse_to_fine(x, _strides(strides, rows))
        return _INVERT[self.name](x, rows, delays, empty)

    def length(
        self, frames: int, rows: int, delays: np.ndarray, strides: np.ndarray | None = None
    ) -> int:
        """Sequence steps of one example of ``frames`` frames (before bos/eos)."""
        if self.multirate:
            st = _strides(strides, rows)
            return frames // int(st.max(initial=1)) * len(_tree_order(st))
        d = int(delays.max()) if len(delays) else 0
        if self.name == "flatten":
            return frames * rows
        if self.name in ("parallel", "valle"):
            return frames
        if self.name == "coarse_first":
            rest = int(delays[1:].max()) if rows > 1 else 0
            return 1 + frames + (frames + rest if rows > 1 else 0)
        return 1 + frames + d


PATTERNS: dict[str, Pattern] = {
    p.name: p
    for p in (
        Pattern("flatten", FLAT, needs_shared=True),
        Pattern("parallel", ROWS),
        Pattern("delay", ROWS, "musicgen", uses_delays=True),
        Pattern("multistream", ROWS, "moshi", uses_delays=True),
        Pattern("coarse_first", ROWS, "none", uses_delays=True),
        Pattern("valle", SPLIT),
        Pattern("coarse_to_fine", FLAT, needs_shared=True, multirate=True),
        Pattern(
            "orpheus",
            FLAT,
            needs_shared=True,
            multirate=True,
            positions=PER_SLOT,
            strides=(4, 2, 1),
        ),  # fmt: skip
    )
}


def get_pattern(name: str | Pattern) -> Pattern:
    if isinstance(name, Pattern):
        return name
    try:
        return PATTERNS[name]
    except KeyError:
        raise VocabError(f"unknown pattern {name!r}: use one of {', '.join(PATTERNS)}") from None


# --- layouts ------------------------------------------------------------------------------
def _flatten(ids: np.ndarray, delays: np.ndarray, empty: int) -> np.ndarray:
    return np.ascontiguousarray(ids.T).reshape(-1)


def _unflatten(x: np.ndarray, rows: int, delays: np.ndarray, empty: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1 or len(x) % rows:
        raise VocabError(f"flatten: {len(x)} ids are not a whole number of {rows}-stream frames")
    return x.reshape(-1, rows).T


def _parallel(ids: np.ndarray, delays: np.ndarray, empty: int) -> np.ndarray:
    return np.array(ids, dtype=np.int64)


def _unparallel(x: np.ndarray, rows: int, delays: np.ndarray, empty: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] != rows:
        raise VocabError(f"parallel: expected [{rows}, T] ids, got {x.shape}")
    return x


def _place(out: np.ndarray, ids: np.ndarray, starts: np.ndarray) -> None:
    t = ids.shape[1]
    for r in range(ids.shape[0]):
        out[r, starts[r] : starts[r] + t] = ids[r]


def _take(x: np.ndarray, starts: np.ndarray, t: int, empty: int, name: str) -> np.ndarray:
    out = np.empty((x.shape[0], t), dtype=np.int64)
    filled = np.zeros(x.shape, dtype=bool)
    for r in range(x.shape[0]):
        out[r] = x[r, starts[r] : starts[r] + t]
        filled[r, starts[r] : starts[r] + t] = True
    if np.any(x[~filled] != empty):
        raise VocabError(f"{name}: a position outside the pattern holds a code, not 'empty'")
    return out


def _delay(ids: np.ndarray, delays: np.ndarray, empty: int) -> np.ndarray:
    r, t = ids.shape
    out = np.full((r, 1 + t + int(delays.max(initial=0))), empty, dtype=np.int64)
    _place(out, ids, 1 + delays)
    return out


def _undelay(x: np.ndarray, rows: int, delays: np.ndarray, empty: int) -> np.ndarray:
    x = np.asarray(x)
    t = x.shape[-1] - 1 - int(delays.max(initial=0)) if x.ndim == 2 else -1
    if x.ndim != 2 or x.shape[0] != rows or t < 0:
        raise VocabError(f"delay: [{rows}, 1 + T + max delay] ids expected, got {x.shape}")
    return _take(x, 1 + delays, t, empty, "delay")


def _coarse(ids: np.ndarray, delays: np.ndarray, empty: int) -> np.ndarray:
    r, t = ids.shape
    rest = int(delays[1:].max()) if r > 1 else 0
    out = np.full((r, 1 + t + (t + rest if r > 1 else 0)), empty, dtype=np.int64)
    starts = np.concatenate([[1], 1 + t + delays[1:]]).astype(np.int64)
    _place(out, ids, starts)
    return out


def _uncoarse(x: np.ndarray, rows: int, delays: np.ndarray, empty: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] != rows:
        raise VocabError(f"coarse_first: [{rows}, S] ids expected, got {x.shape}")
    rest = int(delays[1:].max()) if rows > 1 else 0
    t = (x.shape[1] - 1 - rest) // 2 if rows > 1 else x.shape[1] - 1
    if t < 0 or x.shape[1] != 1 + t + (t + rest if rows > 1 else 0):
        raise VocabError(f"coarse_first: {x.shape[1]} steps is not a valid length")
    starts = np.concatenate([[1], 1 + t + delays[1:]]).astype(np.int64)
    return _take(x, starts, t, empty, "coarse_first")


def _valle(ids: np.ndarray, delays: np.ndarray, empty: int) -> dict[str, np.ndarray]:
    return {"ar": np.array(ids[0], dtype=np.int64), "nar": np.array(ids[1:], dtype=np.int64)}


def _unvalle(x: Any, rows: int, delays: np.ndarray, empty: int) -> np.ndarray:
    ar, nar = np.asarray(x["ar"]), np.asarray(x["nar"])
    if nar.ndim != 2 or nar.shape[0] != rows - 1 or nar.shape[1] != len(ar):
        raise VocabError(f"valle: AR has {len(ar)} frames, NAR is {nar.shape} ({rows - 1} rows)")
    return np.vstack([ar[None, :], nar])


_APPLY = {
    "flatten": _flatten,
    "parallel": _parallel,
    "delay": _delay,
    "multistream": _delay,
    "coarse_first": _coarse,
    "valle": _valle,
}
_INVERT = {
    "flatten": _unflatten,
    "parallel": _unparallel,
    "delay": _undelay,
    "multistream": _undelay,
    "coarse_first": _uncoarse,
    "valle": _unvalle,
}


# --- multi-rate ---------------------------------------------------------------------------
def _strides(strides: np.ndarray | None, rows: int) -> np.ndarray:
    st = np.ones(rows, np.int64) if strides is None else np.asarray(strides, np.int64)
    if len(st) != rows:
        raise VocabError(f"coarse_to_fine: {len(st)} strides for {rows} streams")
    return st


def _coarse_to_fine(ids: np.ndarray, strides: np.ndarray) -> np.ndarray:
    r, t = ids.shape
    group = int(strides.max(initial=1))
    if t % group:
        raise VocabError(f"coarse_to_fine: {t} frames is not a whole number of groups of {group}")
    order = _tree_order(strides)
    g = ids.reshape(r, t // group, group)
    rows = np.array([o[0] for o in order], np.int64)
    offs = np.array([o[1] for o in order], np.int64)
    return np.ascontiguousarray(g[rows, :, offs].T, dtype=np.int64).reshape(-1)


def _uncoarse_to_fine(x: Any, strides: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    order = _tree_order(strides)
    n, group = len(order), int(strides.max(initial=1))
    if x.ndim != 1 or (n and len(x) % n):
        raise VocabError(f"coarse_to_fine: {len(x)} ids are not a whole number of {n}-id groups")
    y = x.reshape(-1, n) if n else x.reshape(0, 0)
    out = np.empty((len(strides), y.shape[0], group), np.int64)
    for j, (r, off) in enumerate(order):
        out[r, :, off : off + int(strides[r])] = y[:, j, None]
    return out.reshape(len(strides), -1)
