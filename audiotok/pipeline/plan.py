"""Plan: probe each file's header (no decoding) and cut the corpus into length buckets.

Lengths are at the model's rate. Compressed files whose header gives no length (or only an
estimate) are planned as batches of their own and checked against ``max_duration`` after
decoding, so one of them can neither grow a batch without bound nor skip the limit.

:func:`audiotok.pipeline.load.probe_corpus` is the one probe of a whole corpus (worker
processes, chunks of ``PROBE_CHUNK`` files): the slice planner (``pipeline.slices``) and the
k-means audio sampler read it, and the engines take its results as they are (a
:class:`Planned` is not probed again).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from audiotok import audio
from audiotok.corpus import AudioItem
from audiotok.errors import AudioError


class Pool(Protocol):
    """What probing needs of a worker pool (:class:`audiotok.pipeline.load.WorkerPool`)."""

    n: int

    def imap(self, fn: Any, jobs: Any, depth: int) -> Iterator[Any]: ...


PROBE_CHUNK = 256


@dataclass(frozen=True)
class Planned:
    item: AudioItem
    num_samples: int  # at the model's rate (an estimate when ``exact`` is False)
    exact: bool = True
    duration_us: int = 0  # whole microseconds at the file's own rate (an integer: see slices)

    @property
    def id(self) -> str:
        return self.item.id


def probe_header(item: AudioItem, sample_rate: int) -> Planned | str:
    """A planned item, or the reason the file's header cannot be read."""
    try:
        info = audio.probe(item.path)
    except AudioError as e:
        return e.reason
    except Exception as e:  # noqa: BLE001 - one bad file must not end the run
        return f"cannot probe ({type(e).__name__}: {e})"
    n = audio.resampled_length(info.num_frames, info.sample_rate, sample_rate)
    exact = bool(getattr(info, "length_is_exact", True)) and info.num_frames > 0
    us = info.num_frames * 1_000_000 // info.sample_rate if info.sample_rate else 0
    return Planned(item, n, exact, us)


def within_limit(p: Planned, max_duration: float | None) -> Planned | str:
    """``p``, or why it is refused: longer than ``max_duration`` seconds by its header."""
    secs = p.duration_us / 1e6
    if max_duration is not None and secs > max_duration:
        return f"longer than --max-duration ({secs:.0f} s > {max_duration:.0f} s)"
    return p


def probe(item: AudioItem, sample_rate: int, max_duration: float | None) -> Planned | str:
    """A planned item, or the reason the file cannot be used."""
    p = probe_header(item, sample_rate)
    return p if isinstance(p, str) else within_limit(p, max_duration)


def probe_chunk(
    items: Sequence[AudioItem], sample_rate: int, max_duration: float | None
) -> list[Planned | str]:
    return [probe(it, sample_rate, max_duration) for it in items]


def probe_all(
    items: Sequence[AudioItem],
    sample_rate: int,
    max_duration: float | None,
    pool: Pool | None,
) -> Iterator[tuple[AudioItem, Planned | str]]:
    """``(item, planned or reason)`` for every item, in order; chunks of ``PROBE_CHUNK``
    files on ``pool``'s worker processes (at most 4 per worker in flight), or here."""
    chunks = [list(items[i : i + PROBE_CHUNK]) for i in range(0, len(items), PROBE_CHUNK)]
    jobs = ((c, sample_rate, max_duration) for c in chunks)
    results = (
        pool.imap(probe_chunk, jobs, depth=4 * pool.n)
        if pool is not None and len(chunks) > 1
        else (probe_chunk(*j) for j in jobs)
    )
    for chunk, res in zip(chunks, results, strict=True):
        yield from zip(chunk, res, strict=True)


def make_batches(
    planned: Sequence[Planned],
    batch_samples: int,
    equal_lengths_only: bool,
    long_samples: int | None = None,
    max_length_ratio: float = 1.2,
) -> list[list[Planned]]:
    """Sort by length and cut into batches whose padded size stays within ``batch_samples``.

    A batch closes when the next file is more than ``max_length_ratio`` times its shortest,
    so padding stays under ~20 % of the work. With ``equal_lengths_only`` a batch holds files
    of one length (models whose output depends on padding). Files longer than the budget or
    than ``long_samples`` (windowed by the batch function), and files of unknown length, are
    batches of their own.
    """
    batches: list[list[Planned]] = []
    cur: list[Planned] = []
    for p in sorted(planned, key=lambda p: (p.num_samples, p.item.id)):
        alone = not p.exact or (long_samples is not None and p.num_samples > long_samples)
        if alone:
            batches.append([p])
            continue
        fits = (len(cur) + 1) * p.num_samples <= batch_samples
        same = not equal_lengths_only or (cur and cur[0].num_samples == p.num_samples)
        close = bool(cur) and p.num_samples > max_length_ratio * cur[0].num_samples
        if cur and (close or not (fits and same)):
            batches.append(cur)
            cur = []
        cur.append(p)
    if cur:
        batches.append(cur)
    return batches
