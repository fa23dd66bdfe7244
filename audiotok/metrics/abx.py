"""ABX phone discriminability (ZeroSpeech / libri-light definition) of features or units.

An ABX triplet asks whether X, a token of phone ``a``, is closer (frame-averaged DTW, see
:mod:`audiotok.metrics.abx_dtw`) to A, another token of ``a``, than to B, a token of ``b``;
the error rate is how often it is not (ties count one half). Conditions:

- **triphone** ("on" the central phone, "by" its context): A, B and X share the context
  (previous and next phone); **phoneme**: any context;
- **within speaker**: A, B and X from one speaker (X ranges over A's group, X != A);
  **across speaker**: A and B from one speaker, X from another (at most ``max_x_across``
  other speakers per A group, drawn at random).

Scores are averaged as the libri-light ABX averages them (``eval_ABX.py``): the error of
each (speaker, a, b[, context][, X speaker]) cell; the mean over contexts and X speakers
that have a cell; the mean over speakers; the mean over (a, b) pairs. Groups larger than
``max_size_group`` tokens are subsampled (a fresh draw per use, seeded). Frames of an item
with onset ``t0`` and offset ``t1`` at ``r`` frames/s are ``ceil(r t0 - 1/2)`` to
``floor(r t1 - 1/2)`` (exclusive), as in the reference; an item with no frame is dropped.

Parity: on the same features and item file, and with groups no larger than
``max_size_group`` (no draw), :func:`abx_error_rates` gives the scores of
``zerospeech-libriabx2`` (tested, ``tests/metrics/test_abx_parity.py``); with draws both
are estimates from different random draws.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.metrics.abx_items import Item

CONDITIONS = ("triphone", "phoneme")
SPEAKER_MODES = ("within", "across")


@dataclass
class AbxItems:
    """The items kept (those with frames), their frames concatenated, and their labels."""

    frames: Any  # torch.Tensor [F, D'] (normalised when asked)
    starts: Any  # torch.LongTensor [I]
    sizes: Any  # torch.LongTensor [I]
    phone: np.ndarray  # [I] int
    context: np.ndarray
    speaker: np.ndarray
    phones: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    missing_files: int = 0
    empty_items: int = 0


def frame_span(onset: float, offset: float, frame_rate: float, num_frames: int) -> tuple[int, int]:
    """The frames of an item (libri-light's rule, module docstring)."""
    import math

    start = max(0, int(math.ceil(frame_rate * onset - 0.5)))
    end = min(num_frames, int(math.floor(frame_rate * offset - 0.5)))
    return start, end


def collect_items(
    features: Iterable[tuple[str, Any]],
    items: Sequence[Item],
    frame_rate: float,
    *,
    normalize: bool = True,
) -> AbxItems:
    """Keep the frames of every item from ``(utterance id, feats [T, D])`` pairs (streamed:
    only item frames are held)."""
    import torch

    from audiotok.metrics.abx_dtw import normalize_with_singularity

    if frame_rate <= 0:
        raise AudiotokError("ABX needs the frame rate of the features (frames per second)")
    by_file: dict[str, list[int]] = defaultdict(list)
    for n, it in enumerate(items):
        by_file[it.file].append(n)
    chunks, kept, sizes = [], [], []
    seen = set()
    empty = 0
    dim = None
    for uid, feats in features:
        if uid not in by_file or uid in seen:
            continue
        seen.add(uid)
        x = torch.as_tensor(np.asarray(feats, dtype=np.float32))
        if x.ndim != 2:
            raise AudiotokError(f"features of {uid} are {tuple(x.shape)}, not [frames, dim]")
        if dim is None:
            dim = x.shape[1]
        elif x.shape[1] != dim:
            raise AudiotokError(f"features of {uid} have dim {x.shape[1]}, others {dim}")
        if normalize:
            x = normalize_with_singularity(x)
        for n in by_file[uid]:
            s, e = frame_span(items[n].onset, items[n].offset, frame_rate, x.shape[0])
            if s >= x.shape[0] or e <= s:
                empty += 1
                continue
            chunks.append(x[s:e])
            kept.append(n)
            sizes.append(e - s)
    if not kept:
        raise AudiotokError(
            "no ABX item has frames: check that the item/alignment file ids match the "
            "utterance ids and that the frame rate is right"
        )
    phones: dict[str, int] = {}
    contexts: dict[str, int] = {}
    speakers: dict[str, int] = {}
    kept_items = [items[n] for n in kept]
    sz = torch.tensor(sizes, dtype=torch.long)
    return AbxItems(
        frames=torch.cat(chunks),
        starts=torch.cumsum(sz, 0) - sz,
        sizes=sz,
        phone=np.array([phones.setdefault(i.phone, len(phones)) for i in kept_items]),
        context=np.array([contexts.setdefault(i.context, len(contexts)) for i in kept_items]),
        speaker=np.array([speakers.setdefault(i.speaker, len(speakers)) for i in kept_items]),
        phones=list(phones),
        speakers=list(speakers),
        missing_files=len(set(by_file) - seen),
        empty_items=empty,
    )


@dataclass
class _Cell:
    coord: tuple[int, ...]  # (speaker, a, b, *averaged-out dims)
    a: np.ndarray
    b: np.ndarray
    x: np.ndarray | None  # None: within speaker (X ranges over A)


def _cells(
    data: AbxItems, condition: str, speaker_mode: str, max_size_group: int, max_x: int, rng: Any
) -> list[_Cell]:
    """The (A, B, X) groups of one condition, in the reference's enumeration."""
    ctx = data.context if condition == "triphone" else np.zeros_like(data.context)
    groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for n in range(len(data.phone)):
        groups[(int(ctx[n]), int(data.speaker[n]), int(data.phone[n]))].append(n)
    by_cs: dict[tuple[int, int], list[int]] = defaultdict(list)
    spk_of_cp: dict[tuple[int, int], list[int]] = defaultdict(list)
    for c, s, p in sorted(groups):
        by_cs[(c, s)].append(p)
        spk_of_cp[(c, p)].append(s)

    def draw(key: tuple[int, int, int]) -> np.ndarray:
        g = np.asarray(groups[key])
        if len(g) > max_size_group:
            g = np.sort(rng.choice(g, size=max_size_group, replace=False))
        return g

    extra = (lambda c: (c,)) if condition == "triphone" else (lambda c: ())
    cells = []
    for (c, s), phones in by_cs.items():
        if len(phones) < 2:
            continue
        for pa in phones:
            if speaker_mode == "within":
                if len(groups[(c, s, pa)]) < 2:
                    continue
                for pb in phones:
                    if pb != pa:
                        cells.append(
                            _Cell((s, pa, pb, *extra(c)), draw((c, s, pa)), draw((c, s, pb)), None)
                        )
                continue
            others = [t for t in spk_of_cp[(c, pa)] if t != s]
            if len(others) > max_x:
                others = sorted(rng.choice(others, size=max_x, replace=False).tolist())
            for sx in others:
                for pb in phones:
                    if pb != pa:
                        cells.append(
                            _Cell(
                                (s, pa, pb, *extra(c), sx),
                                draw((c, s, pa)),
                                draw((c, s, pb)),
                                draw((c, sx, pa)),
                            )
                        )
    return cells


def _pairs_of(cell: _Cell) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols) of d(X, A) and of d(X, B); within speaker, d(a_i, a_j) is the DTW of the
    earlier item against the later one (the reference fills the symmetric half that way)."""
    if cell.x is None:
        a = cell.a
        i, j = np.meshgrid(np.arange(len(a)), np.arange(len(a)), indexing="ij")
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        xa = (a[lo], a[hi])
        xb = np.meshgrid(a, cell.b, indexing="ij")
    else:
        xa = np.meshgrid(cell.x, cell.a, indexing="ij")
        xb = np.meshgrid(cell.x, cell.b, indexing="ij")
    return xa[0], xa[1], xb[0], xb[1]


def _cell_error(dxa: np.ndarray, dxb: np.ndarray, within: bool) -> float:
    """1 - theta: the share of (X, A, B) where d(X, A) < d(X, B) fails, ties one half."""
    lt = (dxa[:, :, None] < dxb[:, None, :]).astype(np.float64)
    eq = (dxa[:, :, None] == dxb[:, None, :]).astype(np.float64)
    score = lt + 0.5 * eq
    if within:  # X != A
        n = dxa.shape[0]
        score[np.arange(n), np.arange(n), :] = 0.0
        total = n * (n - 1) * dxb.shape[1]
    else:
        total = score.size
    return 1.0 - float(score.sum()) / total


def _aggregate(errors: dict[tuple[int, ...], float]) -> float:
    """Mean over the trailing dims (context, X speaker), then speakers, then (a, b)."""
    per_sab: dict[tuple[int, ...], list[float]] = defaultdict(list)
    for coord, e in errors.items():
        per_sab[coord[:3]].append(e)
    per_ab: dict[tuple[int, int], list[float]] = defaultdict(list)
    for (_s, a, b), es in per_sab.items():
        per_ab[(a, b)].append(sum(es) / len(es))
    return float(np.mean([sum(v) / len(v) for v in per_ab.values()]))


def abx_error_rates(
    data: AbxItems,
    *,
    distance: str = "cosine",
    conditions: Sequence[str] = CONDITIONS,
    speaker_modes: Sequence[str] = SPEAKER_MODES,
    max_size_group: int = 10,
    max_x_across: int = 5,
    seed: int = 3459,
) -> dict[str, Any]:
    """ABX error rates (%) of collected items: ``{"scores": {"triphone_within": ...}, ...}``.
    A condition without any triplet (one speaker, for across) is reported as None."""
    import torch

    from audiotok.metrics.abx_dtw import DISTANCES, pair_costs

    if distance not in DISTANCES:
        raise AudiotokError(f"unknown ABX distance {distance!r}: use {', '.join(DISTANCES)}")
    for c in conditions:
        if c not in CONDITIONS:
            raise AudiotokError(f"unknown ABX condition {c!r}: use {', '.join(CONDITIONS)}")
    for m in speaker_modes:
        if m not in SPEAKER_MODES:
            raise AudiotokError(f"unknown speaker mode {m!r}: use {', '.join(SPEAKER_MODES)}")
    if max_size_group < 2 or max_x_across < 1:
        raise AudiotokError("max_size_group must be at least 2 and max_x_across at least 1")
    rng = np.random.default_rng(seed)
    plan = {
        f"{c}_{m}": _cells(data, c, m, max_size_group, max_x_across, rng)
        for c in conditions
        for m in speaker_modes
    }
    n_items = len(data.phone)
    keys = []
    per_cell = []
    for cells in plan.values():
        for cell in cells:
            ra, ca, rb, cb = _pairs_of(cell)
            per_cell.append((ra.ravel() * n_items + ca.ravel(), rb.ravel() * n_items + cb.ravel()))
            keys += [per_cell[-1][0], per_cell[-1][1]]
    uniq = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
    pairs = torch.from_numpy(np.stack([uniq // n_items, uniq % n_items], axis=1))
    costs = pair_costs(data.frames, data.starts, data.sizes, pairs, distance).numpy()
    scores: dict[str, float | None] = {}
    cells_out: dict[str, int] = {}
    k = 0
    for name, cells in plan.items():
        errors = {}
        for cell in cells:
            ka, kb = per_cell[k]
            k += 1
            nx = len(cell.a) if cell.x is None else len(cell.x)
            dxa = costs[np.searchsorted(uniq, ka)].reshape(nx, -1)
            dxb = costs[np.searchsorted(uniq, kb)].reshape(nx, -1)
            errors[cell.coord] = _cell_error(dxa, dxb, cell.x is None)
        scores[name] = 100.0 * _aggregate(errors) if errors else None
        cells_out[name] = len(cells)
    return {
        "scores": scores,
        "distance": distance,
        "items": n_items,
        "phones": len(data.phones),
        "speakers": len(data.speakers),
        "cells": cells_out,
        "dtw_pairs": len(uniq),
        "missing_files": data.missing_files,
        "empty_items": data.empty_items,
        "max_size_group": max_size_group,
        "max_x_across": max_x_across,
        "seed": seed,
    }


def abx(
    features: Iterable[tuple[str, Any]],
    items: Sequence[Item],
    frame_rate: float,
    *,
    distance: str = "cosine",
    normalize: bool | None = None,
    **options: Any,
) -> dict[str, Any]:
    """ABX error rates (%) of ``(utterance id, feats [T, D])`` at ``frame_rate`` on ``items``.

    normalize: L2-normalise frames with libri-light's null-frame dimension (default: for the
    cosine/angular distance, which needs it; pass True to match the reference's other
    distances, which it always normalises). options: :func:`abx_error_rates`'s."""
    norm = distance in ("cosine", "angular") if normalize is None else normalize
    data = collect_items(features, items, frame_rate, normalize=norm)
    return {**abx_error_rates(data, distance=distance, **options), "normalized": norm}
