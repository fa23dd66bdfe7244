"""Plan: probe each file's header (no decoding) and cut the corpus into length buckets.

Lengths are at the model's rate. Compressed files whose header gives no length (or only an
estimate) are planned as batches of their own and checked against ``max_duration`` after
decoding, so one of them can neither grow a batch without bound nor skip the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audiotok import audio
from audiotok.corpus import AudioItem
from audiotok.errors import AudioError


@dataclass(frozen=True)
class Planned:
    item: AudioItem
    num_samples: int  # at the model's rate (an estimate when ``exact`` is False)
    exact: bool = True

    @property
    def id(self) -> str:
        return self.item.id


def probe(item: AudioItem, sample_rate: int, max_duration: float | None) -> Planned | str:
    """A planned item, or the reason the file cannot be used."""
    try:
        info = audio.probe(item.path)
    except AudioError as e:
        return e.reason
    except Exception as e:  # noqa: BLE001 - one bad file must not end the run
        return f"cannot probe ({type(e).__name__}: {e})"
    if max_duration is not None and info.duration > max_duration:
        return f"longer than --max-duration ({info.duration:.0f} s > {max_duration:.0f} s)"
    n = audio.resampled_length(info.num_frames, info.sample_rate, sample_rate)
    exact = bool(getattr(info, "length_is_exact", True)) and info.num_frames > 0
    return Planned(item, n, exact)


def probe_chunk(
    items: Sequence[AudioItem], sample_rate: int, max_duration: float | None
) -> list[Planned | str]:
    return [probe(it, sample_rate, max_duration) for it in items]


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
