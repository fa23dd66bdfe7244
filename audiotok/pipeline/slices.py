"""Corpus slices (``--slice i/N``) for clusters without Ray (SLURM arrays, torchrun).

Words: a *slice* is a part of the corpus that one run encodes; a *shard* is a Parquet file
of a store (``--shard-size``). ``--shard i/N`` is the former, deprecated spelling of
``--slice i/N``.

Every machine lists the same corpus, reads each file's header once (the pipeline's probe,
:func:`audiotok.pipeline.load.probe_corpus`: worker processes, no decoding) and assigns the
files to ``N`` slices with the same deterministic greedy rule (LPT: longest first, each to
the slice with the least audio so far; ties by id, then by slice number), so the slices are
the same everywhere, cover the corpus exactly once and hold about the same amount of audio.
The run then plans its own slice from those probes (no second probe). Each slice runs into a
store of its own; ``audiotok merge`` adopts them into one.

Weights are integer microseconds of audio from the header (0 for a file whose header cannot be
read: it fails in its slice like any bad file, reported by name there), so no floating-point
sum can round differently on two machines. A fingerprint of the listing and its weights is
recorded in each slice's store: ``merge`` refuses slices cut from different listings, whose
union could miss or repeat files.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiotok.corpus import AudioItem
from audiotok.errors import AudiotokError
from audiotok.pipeline.load import probe_corpus
from audiotok.pipeline.plan import Planned

_SLICE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
Problem = tuple[AudioItem, str]


@dataclass(frozen=True)
class CorpusSlice:
    """Slice ``index`` (0-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_slice(text: str, flag: str = "--slice") -> CorpusSlice:
    """``"3/16"`` -> ``CorpusSlice(3, 16)``; slices are numbered from 0 to N - 1."""
    m = _SLICE_RE.match(text or "")
    if m is None:
        raise AudiotokError(f"{flag} takes I/N (e.g. 0/16, 0-based), got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 0 <= i < n:
        raise AudiotokError(
            f"{flag} {text}: the slice number must be 0 to {max(n - 1, 0)} (0-based) and N >= 1"
        )
    return CorpusSlice(i, n)


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
class SliceCut:
    """What one ``--slice i/N`` run works on, and what its store records of the cut.
    ``work``: the slice's files, :class:`Planned` where the header was read (the engines do
    not probe them again), the bare item where it was not (the engine reports why)."""

    slice: CorpusSlice
    work: list[AudioItem | Planned]
    problems: list[Problem]
    corpus_files: int
    corpus_fingerprint: str
    seconds: float  # header seconds of this slice

    @property
    def ids(self) -> list[str]:
        return [w.id for w in self.work] + [p[0].id for p in self.problems]

    def run_params(self) -> dict[str, Any]:
        return {
            "slice": str(self.slice),
            "slice_of": {"files": self.corpus_files, "fingerprint": self.corpus_fingerprint},
        }


def cut(
    items: Sequence[AudioItem],
    problems: Sequence[Problem],
    sl: CorpusSlice,
    sample_rate: int,
    num_workers: int = 0,
) -> SliceCut:
    """The files (and listing problems) of slice ``sl`` of the whole corpus, from one probe
    of every header at ``sample_rate`` (the model's) by ``num_workers`` worker processes."""
    probed = probe_corpus(items, sample_rate, num_workers)
    weights = [p.duration_us if isinstance(p, Planned) else 0 for p in probed]
    weights += [0] * len(problems)
    ids = [it.id for it in items] + [p[0].id for p in problems]
    slots = assign(ids, weights, sl.count)
    mine = [j for j, s in enumerate(slots) if s == sl.index]
    n = len(items)
    return SliceCut(
        slice=sl,
        work=[_work(items[j], probed[j]) for j in mine if j < n],
        problems=[problems[j - n] for j in mine if j >= n],
        corpus_files=len(ids),
        corpus_fingerprint=fingerprint(ids, weights),
        seconds=sum(weights[j] for j in mine) / 1e6,
    )


def _work(item: AudioItem, probed: Planned | str) -> AudioItem | Planned:
    return probed if isinstance(probed, Planned) else item


def recorded_slice(run: dict[str, Any]) -> dict[str, Any] | None:
    """``{"slice": "i/N", "slice_of": {...}}`` of a store's run record, None for a whole
    corpus; stores written before the rename say ``shard`` / ``shard_of``."""
    for key, of in (("slice", "slice_of"), ("shard", "shard_of")):
        if key in run:
            return {"slice": str(run[key]), "slice_of": run.get(of, {})}
    return None


def check_slice(out_dir: str | Path, want: dict[str, Any] | None, overwrite: bool) -> None:
    """Refuse to resume a store that holds another slice (or a whole corpus) than this run
    makes (``want``: :meth:`SliceCut.run_params`, None for the whole corpus)."""
    from audiotok.store import record as R

    if overwrite:
        return
    try:
        rec = R.read(out_dir)
    except AudiotokError:
        return  # the writer reports a damaged record in its own words
    if rec is None or not (rec.shards or rec.errors):
        return
    have = recorded_slice(rec.run)
    if have == want:
        return

    def name(p: dict[str, Any] | None) -> str:
        return "the whole corpus" if p is None else f"slice {p['slice']}"

    same_slice = have is not None and want is not None and have["slice"] == want["slice"]
    why = " of another listing of the corpus" if same_slice else ""
    raise AudiotokError(
        f"{out_dir} holds {name(have)}{why}; this run makes {name(want)}: choose another "
        "--output, or --overwrite"
    )
