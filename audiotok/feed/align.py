"""Joining stores of one corpus by utterance id, aligned in time when their frame rates differ.

Alignment rule (the target rate is the highest rate R among the stores, so no store loses a
frame): target frame j starts at time j / R; a store at rate r contributes the frame whose
interval [i / r, (i + 1) / r) contains that start, i = floor(j * r / R) (computed exactly with
rationals). 50 Hz semantic + 75 Hz acoustic: target frames 0, 1, 2, 3, 4, 5 take semantic frames
0, 0, 1, 2, 2, 3. The joined example has T = min over stores of ceil(T_s * R / r_s) frames
(the frames every store covers); a store at the target rate keeps its frames as they are.
``split_aligned`` inverts it: store s gets back its first floor((T - 1) * r_s / R) + 1 frames.

Two stores must agree on every id's duration (T_s / r_s) within ``tolerance_s`` (default: two
frames of the slowest store), or the join refuses: they would be different recordings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.spec import TokenSpec


def _ratio(rate: float, target: float) -> Fraction:
    return Fraction(rate).limit_denominator(10_000) / Fraction(target).limit_denominator(10_000)


def aligned_length(frames: Sequence[int], rates: Sequence[float]) -> int:
    target = max(rates)
    out = []
    for t, r in zip(frames, rates, strict=True):
        q = _ratio(r, target)  # r / R
        out.append(-(-t * q.denominator // q.numerator))  # ceil(t * R / r)
    return min(out) if out else 0


def align(codes: Sequence[np.ndarray], rates: Sequence[float]) -> np.ndarray:
    """Per-store codes [K_s, T_s] at rates r_s -> [sum K_s, T] at the highest rate."""
    target = max(rates)
    t = aligned_length([c.shape[1] for c in codes], rates)
    j = np.arange(t, dtype=np.int64)
    rows = []
    for c, r in zip(codes, rates, strict=True):
        q = _ratio(r, target)
        rows.append(c[:, (j * q.numerator) // q.denominator])
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, 0), np.int64)


def split_aligned(
    joined: np.ndarray, ks: Sequence[int], rates: Sequence[float]
) -> list[np.ndarray]:
    """Inverse of ``align``: each store's codes, the frames the joined example covers."""
    target = max(rates)
    t = joined.shape[1]
    out, row = [], 0
    for k, r in zip(ks, rates, strict=True):
        q = _ratio(r, target)
        n = ((t - 1) * q.numerator) // q.denominator + 1 if t else 0
        i = np.arange(n, dtype=np.int64)
        first_j = -(-i * q.denominator // q.numerator)  # ceil(i * R / r)
        out.append(joined[row : row + k, first_j])
        row += k
    return out


class JoinedSource:
    """Several token sources of one corpus, joined by id: ``get(id) -> [sum K, T]``.

    ``specs``/``row_keys`` say which store and codebook each row is. ``on_missing``: "error"
    (default: every id of the first store must be in all) or "skip" (feed the ids all share).
    """

    def __init__(
        self,
        sources: Sequence[Any],
        *,
        on_missing: str = "error",
        tolerance_s: float | None = None,
    ):
        if len(sources) < 2:
            raise AudiotokError("a join needs at least two token sources")
        if on_missing not in ("error", "skip"):
            raise AudiotokError("on_missing must be 'error' or 'skip'")
        self.sources = list(sources)
        self.specs = [s.spec for s in self.sources]
        multi = [s.name for s in self.specs if getattr(s, "multirate", False)]
        if multi:
            raise AudiotokError(
                f"{multi[0]} has codebooks at several frame rates: feed it alone (pattern "
                "coarse_to_fine); joining it with other stores is not supported"
            )
        names = [s.name for s in self.specs]
        if len(set(names)) != len(names):
            raise AudiotokError(f"cannot join stores of the same tokenizer twice: {names}")
        self.rates = [float(s.frame_rate) for s in self.specs]
        self.frame_rate = max(self.rates)
        self.tolerance_s = 2.0 / min(self.rates) if tolerance_s is None else tolerance_s
        first = self.sources[0].ids()
        sets = [set(s.ids()) for s in self.sources[1:]]
        missing = [i for i in first if not all(i in s for s in sets)]
        if missing and on_missing == "error":
            raise AudiotokError(
                f"{len(missing)} utterance(s) of {names[0]} are missing from another store "
                f"(e.g. {missing[0]!r}); encode the same corpus, or leave those out "
                "(`audiotok export --skip-missing`; on_missing='skip' in Python)"
            )
        gone = set(missing)
        self._ids = [i for i in first if i not in gone]
        self.row_keys = [(s.name, k) for s in self.specs for k in range(s.num_codebooks)]

    @property
    def spec(self) -> TokenSpec:
        """A summary spec of the joined rows (the parts are in ``specs``)."""
        ks = [s.num_codebooks for s in self.specs]
        sem, row = [], 0
        for s, k in zip(self.specs, ks, strict=True):
            sem += [row + c for c in range(k) if s.kind == "semantic" or c in s.semantic_codebooks]
            row += k
        return replace(
            self.specs[0],
            kind="joined",
            name="+".join(s.name for s in self.specs),
            frame_rate=self.frame_rate,
            num_codebooks=sum(ks),
            codebook_size=max(s.codebook_size for s in self.specs),
            semantic_codebooks=tuple(sem),
            params={"joined": [s.to_dict() for s in self.specs]},
        )

    def ids(self) -> list[str]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, utt_id: str) -> np.ndarray:
        parts = [s.get(utt_id) for s in self.sources]
        secs = [p.shape[1] / r for p, r in zip(parts, self.rates, strict=True)]
        if max(secs) - min(secs) > self.tolerance_s:
            pairs = zip(self.specs, secs, strict=True)
            detail = ", ".join(f"{s.name}: {t:.3f} s" for s, t in pairs)
            raise AudiotokError(
                f"utterance {utt_id!r} has different durations in the joined stores ({detail}); "
                f"not the same recording? (tolerance {self.tolerance_s:.3f} s)"
            )
        return align(parts, self.rates)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for utt_id in self._ids:
            yield utt_id, self.get(utt_id)

    def num_frames(self) -> dict[str, int]:
        from audiotok.feed.source import num_frames

        parts = [num_frames(s) for s in self.sources]
        return {i: aligned_length([p[i] for p in parts], self.rates) for i in self._ids}

    def split(self, joined: np.ndarray) -> list[np.ndarray]:
        return split_aligned(joined, [s.num_codebooks for s in self.specs], self.rates)
