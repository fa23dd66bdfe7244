"""Static slices of a corpus (``--shard i/N``) for clusters without Ray (SLURM arrays, torchrun).

Every machine lists the same corpus, reads each file's header (no decoding) and assigns the
files to ``N`` slices with the same deterministic greedy rule (LPT: longest first, each to the
slice with the least audio so far; ties by id, then by slice number), so the slices are the
same everywhere, cover the corpus exactly once and hold about the same amount of audio. Each
slice runs into a store of its own; ``audiotok merge`` adopts them into one.

Weights are integer microseconds of audio from the header (0 for a file whose header cannot be
read: it fails in its slice like any bad file), so no floating-point sum can round differently
on two machines. A fingerprint of the listing and its weights is recorded in each slice's
store: ``merge`` refuses slices cut from different listings, whose union could miss or repeat
files.

This module imports no torch (header probes run in the local engine's worker processes).
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audiotok.corpus import AudioItem
from audiotok.errors import AudiotokError

PROBE_CHUNK = 256
_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` (0-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"3/16"`` -> ``Shard(3, 16)``; slices are numbered from 0 to N - 1."""
    m = _SHARD_RE.match(text or "")
    if m is None:
        raise AudiotokError(f"--shard takes I/N (e.g. 0/16, 0-based), got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 0 <= i < n:
        raise AudiotokError(
            f"--shard {text}: the slice number must be 0 to {max(n - 1, 0)} (0-based) and N >= 1"
        )
    return Shard(i, n)


def header_weights(paths: Sequence[str]) -> list[int]:
    """Microseconds of audio per file from its header; 0 where the header cannot be read."""
    from audiotok import audio

    out = []
    for p in paths:
        try:
            info = audio.probe(p)
            out.append(info.num_frames * 1_000_000 // info.sample_rate if info.sample_rate else 0)
        except Exception:  # noqa: BLE001 - a bad file weighs nothing; its slice reports it
            out.append(0)
    return out


def corpus_weights(items: Sequence[AudioItem], num_workers: int = 0) -> list[int]:
    """:func:`header_weights` of every item, probed by ``num_workers`` worker processes."""
    paths = [it.path for it in items]
    chunks = [paths[i : i + PROBE_CHUNK] for i in range(0, len(paths), PROBE_CHUNK)]
    if num_workers <= 0 or len(chunks) <= 1:
        return [w for c in chunks for w in header_weights(c)]
    from audiotok.pipeline.load import WorkerPool

    pool = WorkerPool(num_workers)
    aborted = True
    try:
        out = [
            w
            for res in pool.imap(header_weights, ((c,) for c in chunks), depth=4 * num_workers)
            for w in res
        ]
        aborted = False
    finally:
        pool.close(abort=aborted)
    return out


def assign(ids: Sequence[str], weights: Sequence[int], count: int) -> list[int]:
    """The slice of each id: longest first (ties by id), each to the slice holding the least
    audio so far (ties: fewer files, then the lower slice number)."""
    if len(ids) != len(weights):
        raise ValueError("one weight per id")
    if len(set(ids)) != len(ids):
        raise AudiotokError("utterance ids must be unique to cut a corpus into slices")
    order = sorted(range(len(ids)), key=lambda j: (-int(weights[j]), ids[j]))
    heap = [(0, 0, s) for s in range(count)]  # (audio so far, files, slice)
    out = [0] * len(ids)
    for j in order:
        load, files, s = heapq.heappop(heap)
        out[j] = s
        heapq.heappush(heap, (load + int(weights[j]), files + 1, s))
    return out


def fingerprint(ids: Sequence[str], weights: Sequence[int]) -> str:
    """sha256 of the listing and its weights, in id order: equal on every machine that sees
    the same corpus, so slices cut from different listings can be told apart."""
    h = hashlib.sha256()
    for i, w in sorted(zip(ids, weights, strict=True)):
        h.update(f"{i}\t{int(w)}\n".encode())
    return h.hexdigest()


@dataclass
class Slice:
    """What one ``--shard i/N`` run works on, and what its store records of the cut."""

    shard: Shard
    items: list[AudioItem]
    problems: list[tuple[AudioItem, str]]
    corpus_files: int
    corpus_fingerprint: str
    seconds: float  # header seconds of this slice

    def run_params(self) -> dict[str, Any]:
        return {
            "shard": str(self.shard),
            "shard_of": {"files": self.corpus_files, "fingerprint": self.corpus_fingerprint},
        }


def select(
    items: Sequence[AudioItem],
    problems: Sequence[tuple[AudioItem, str]],
    shard: Shard,
    num_workers: int = 0,
) -> Slice:
    """The items (and listing problems) of slice ``shard`` of the whole corpus."""
    weights = corpus_weights(items, num_workers) + [0] * len(problems)
    ids = [it.id for it in items] + [p[0].id for p in problems]
    slots = assign(ids, weights, shard.count)
    mine = [j for j, s in enumerate(slots) if s == shard.index]
    n = len(items)
    return Slice(
        shard=shard,
        items=[items[j] for j in mine if j < n],
        problems=[problems[j - n] for j in mine if j >= n],
        corpus_files=len(ids),
        corpus_fingerprint=fingerprint(ids, weights),
        seconds=sum(weights[j] for j in mine) / 1e6,
    )
