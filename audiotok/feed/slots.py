"""Per-slot vocabularies of multi-rate codes: one id range per *position* of a group.

The ``coarse_to_fine`` pattern lays a multi-rate source out in groups of ``n`` tokens, one
group per frame of its coarsest codebook (SNAC 24 kHz, strides 4, 2, 1: ``n = 7``, the order
``c0[i] c1[2i] c2[4i] c2[4i+1] c1[2i+1] c2[4i+2] c2[4i+3]``). With the usual per-codebook
vocabulary each codebook has one id range; Orpheus TTS instead gives each of the 7 positions
its own range of 4,096 ids: ``id = offset + position * 4096 + code``, read back by
``code = id - offset - (index % 7) * 4096`` (Orpheus's data preparation, ``tokenise_audio``,
adds ``128266 + p * 4096`` to the code at position ``p``; its decoder, canopyai/Orpheus-TTS
``orpheus_tts_pypi/orpheus_tts/decoder.py``, subtracts ``(index % 7) * 4096`` from
``<custom_token_N>`` minus 10; 128,266 = Llama 3's 128,256 text ids + Orpheus's 10 special
tokens). audiotok does not assume that offset: pass it as ``VocabSpec.build(offset=...)``.

A per-slot vocabulary (``VocabSpec.build(..., positions="per_slot")``) has one stream per
position, in group order: stream ``{source}.c{k}.s{j}`` holds the ``j``-th code of codebook
``k`` in a group, the one at finest frame ``phase`` of every group of ``group`` finest frames.
The feed encoder takes those codes as ``[n, T' / group]`` rows before the offsets are added
(:func:`take`), so that the group-major flattening is the coarse_to_fine order with one id
range per position, and puts them back in the store's ``[K, T']`` layout after (:func:`put`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from audiotok.feed.errors import VocabError

PER_CODEBOOK, PER_SLOT = "per_codebook", "per_slot"
POSITIONS = (PER_CODEBOOK, PER_SLOT)


def tree_order(strides: Sequence[int] | np.ndarray) -> list[tuple[int, int]]:
    """(codebook, finest-frame offset) of each token of one group, depth first: a code of
    codebook k is followed by the codes of codebook k + 1 within its span."""
    st = [int(s) for s in strides]
    if not st:
        return []
    if min(st) < 1 or any(a < b or a % b for a, b in zip(st, st[1:], strict=False)):
        raise VocabError(
            f"coarse_to_fine needs streams from coarse to fine, each stride dividing the one "
            f"before; got strides {st}"
        )
    order: list[tuple[int, int]] = []

    def visit(k: int, off: int) -> None:
        order.append((k, off))
        if k + 1 < len(st):
            for j in range(st[k] // st[k + 1]):
                visit(k + 1, off + j * st[k + 1])

    visit(0, 0)
    return order


def slot_fields(name: str, strides: Sequence[int], codebooks: Sequence[int]) -> list[dict]:
    """Name, codebook, group and phase of each per-slot stream of one source (group order).

    ``codebooks``: the codebooks fed, which must be all of them (a group needs every one)."""
    if list(codebooks) != list(range(len(strides))):
        raise VocabError(
            f"positions='per_slot' lays out whole groups: feed every codebook of {name} "
            f"(0..{len(strides) - 1}), not {list(codebooks)}"
        )
    if all(int(s) == 1 for s in strides):
        raise VocabError(
            f"positions='per_slot' gives each position of a multi-rate group its own ids; "
            f"{name}'s codebooks all run at one frame rate: use positions='per_codebook'"
        )
    group = int(max(strides))
    out, seen = [], [0] * len(strides)
    for k, off in tree_order(strides):
        out.append(dict(name=f"{name}.c{k}.s{seen[k]}", codebook=k, group=group, phase=off))
        seen[k] += 1
    return out


def check(streams: Sequence[Any], strides: np.ndarray) -> None:
    """The per-slot streams (``strides``: each one's codebook's stride) are one source's whole
    groups in coarse_to_fine order."""
    groups = {int(s.group) for s in streams}
    sources = {s.source for s in streams}
    if len(groups) != 1 or len(sources) != 1:
        raise VocabError(
            "a per-slot vocabulary feeds one multi-rate source alone, every stream with the "
            f"same group (sources {sorted(sources)}, groups {sorted(groups)})"
        )
    group = groups.pop()
    by_codebook = {int(s.codebook): int(st) for s, st in zip(streams, strides, strict=True)}
    order = [(int(s.codebook), int(s.phase)) for s in streams]
    want = tree_order([by_codebook[k] for k in sorted(by_codebook)])
    if (
        sorted(by_codebook) != list(range(len(by_codebook)))
        or order != want
        or (group != max(by_codebook.values()))
    ):
        raise VocabError(
            f"the per-slot streams of {sources.pop()} (codebook, phase) {order} in groups of "
            f"{group} are not the coarse_to_fine order of its strides: {want}"
        )


def take(codes: np.ndarray, phases: np.ndarray, group: int) -> np.ndarray:
    """Rows ``[n, T']`` (each slot's codebook, repeated layout) -> ``[n, T' / group]``."""
    n, t = codes.shape
    if t % group:
        raise VocabError(f"per-slot ids: {t} frames is not a whole number of groups of {group}")
    return codes.reshape(n, t // group, group)[np.arange(n), :, phases]


def put(slots: np.ndarray, codebooks: Sequence[int], phases: np.ndarray, group: int,
        strides: np.ndarray) -> np.ndarray:  # fmt: skip
    """Inverse of :func:`take`: ``[n, G]`` slot codes -> ``[K, G * group]``, one row per
    codebook (in order of first appearance), each code repeated over its stride."""
    rows = list(dict.fromkeys(int(k) for k in codebooks))
    g = slots.shape[1]
    out = np.empty((len(rows), g, group), np.int64)
    for j, k in enumerate(codebooks):
        p, s = int(phases[j]), int(strides[j])
        out[rows.index(int(k)), :, p : p + s] = slots[j][:, None]
    return out.reshape(len(rows), g * group)
