"""The local engine: scan -> load (worker processes) -> length-bucketed batches -> encode -> store.

Worker processes decode and resample while the model runs; at most ``2 * num_workers``
batches are in flight, so memory is bounded by the batch budget, not by the corpus.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audiotok import audio
from audiotok.corpus import AudioItem
from audiotok.errors import AudioError, AudiotokError
from audiotok.store.writer import StoreWriter
from audiotok.tokenizer import Tokenizer

ErrorCallback = Callable[[AudioItem, str], None]


@dataclass
class RunSummary:
    out_dir: str
    encoded: int = 0
    already_done: int = 0
    seconds: float = 0.0
    frames: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    wall_s: float = 0.0


@dataclass(frozen=True)
class Planned:
    item: AudioItem
    num_samples: int  # at the tokenizer's rate


def plan_batches(
    planned: Sequence[Planned],
    batch_samples: int,
    equal_lengths_only: bool,
    max_length_ratio: float = 1.2,
) -> list[list[Planned]]:
    """Sort by length and cut into batches whose padded size stays within ``batch_samples``.

    A batch closes when the next file is more than ``max_length_ratio`` times its shortest,
    so padding stays under ~20 % of the work. With ``equal_lengths_only`` a batch holds files
    of one length (models whose features depend on padding); one file longer than the budget
    is a batch of its own.
    """
    batches: list[list[Planned]] = []
    cur: list[Planned] = []
    for p in sorted(planned, key=lambda p: (p.num_samples, p.item.id)):
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


def _load_batch(batch: list[Planned], sample_rate: int) -> list[tuple[Planned, Any]]:
    """Worker: decode + resample each file; an AudioError becomes the reason string."""
    out: list[tuple[Planned, Any]] = []
    for p in batch:
        try:
            out.append((p, audio.read(p.item.path, sample_rate)))
        except AudioError as e:
            out.append((p, e.reason))
        except Exception as e:  # noqa: BLE001 - one bad file must not end the run
            out.append((p, f"unreadable ({type(e).__name__}: {e})"))
    return out


def _worker_init() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _prefetch(
    batches: list[list[Planned]], sample_rate: int, num_workers: int
) -> Iterator[list[tuple[Planned, Any]]]:
    if num_workers <= 0:
        for b in batches:
            yield _load_batch(b, sample_rate)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
    with ProcessPoolExecutor(num_workers, mp_context=ctx, initializer=_worker_init) as pool:
        pending: deque[Future] = deque()
        it = iter(batches)
        for b in it:
            pending.append(pool.submit(_load_batch, b, sample_rate))
            if len(pending) >= 2 * num_workers:
                break
        while pending:
            result = pending.popleft().result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(_load_batch, nxt, sample_rate))
            yield result


def failure_handler(
    writer: Any, on_error: ErrorCallback | None, strict: bool
) -> Callable[[AudioItem, str], None]:
    """Record a file's failure in the writer, tell the caller, and stop under --strict."""

    def fail(item: AudioItem, reason: str) -> None:
        writer.add_error(item.id, item.rel, reason)
        if on_error:
            on_error(item, reason)
        if strict:
            writer.close()
            raise AudiotokError(f"{item.path}: {reason} (--strict: stopping)")

    return fail


def loaded_batches(
    todo: Sequence[AudioItem],
    *,
    sample_rate: int,
    num_frames: Callable[[int], int],
    batch_exact: bool,
    fail: Callable[[AudioItem, str], None],
    batch_seconds: float = 60.0,
    num_workers: int = 2,
    max_duration: float | None = None,
    on_total: Callable[[float], None] | None = None,
) -> Iterator[list[tuple[Planned, np.ndarray]]]:
    """Probe, plan and load: yields batches of (planned item, waveform at ``sample_rate``).

    Files that cannot be read, are longer than ``max_duration`` or give no frame go to
    ``fail`` and are left out; shared by every corpus command (encode, extract, k-means).
    """
    sr = sample_rate
    planned: list[Planned] = []
    for it in todo:
        try:
            info = audio.probe(it.path)
        except AudioError as e:
            fail(it, e.reason)
            continue
        if max_duration is not None and info.duration > max_duration:
            fail(it, f"longer than --max-duration ({info.duration:.0f} s > {max_duration:.0f} s)")
            continue
        planned.append(Planned(it, audio.resampled_length(info.num_frames, info.sample_rate, sr)))
    if on_total:
        on_total(sum(p.num_samples for p in planned) / sr)
    batches = plan_batches(planned, int(batch_seconds * sr), not batch_exact)
    for loaded in _prefetch(batches, sr, num_workers):
        good: list[tuple[Planned, np.ndarray]] = []
        for p, wav in loaded:
            if isinstance(wav, str):
                fail(p.item, wav)
            elif num_frames(len(wav)) <= 0:
                fail(p.item, f"too short: {len(wav) / sr * 1000:.1f} ms gives no frame")
            else:
                good.append((p, wav))
        if good:
            yield good


def encode_corpus(
    items: Sequence[AudioItem],
    tokenizer: Tokenizer,
    out_dir: str | Path,
    *,
    batch_seconds: float = 60.0,
    num_workers: int = 2,
    overwrite: bool = False,
    strict: bool = False,
    shard_size: int = 1000,
    max_duration: float | None = None,
    run_params: dict[str, Any] | None = None,
    on_error: ErrorCallback | None = None,
    progress: Callable[[float], None] | None = None,
    on_total: Callable[[float], None] | None = None,
) -> RunSummary:
    """Encode ``items`` into the token store ``out_dir``; resumes where a store exists."""
    t0 = time.perf_counter()
    sr = tokenizer.sample_rate
    writer = StoreWriter(
        out_dir, tokenizer.spec, overwrite=overwrite, shard_size=shard_size, run=run_params
    )
    summary = RunSummary(str(out_dir))
    todo = [it for it in items if it.id not in writer.done_ids]
    summary.already_done = len(items) - len(todo)
    long_limit = int(tokenizer.long_window_seconds * sr) if tokenizer.long_window_seconds else None
    try:
        for good in loaded_batches(
            todo,
            sample_rate=sr,
            num_frames=tokenizer.num_frames,
            batch_exact=tokenizer.batch_exact,
            fail=failure_handler(writer, on_error, strict),
            batch_seconds=batch_seconds,
            num_workers=num_workers,
            max_duration=max_duration,
            on_total=on_total,
        ):
            if long_limit is not None:
                for g in [g for g in good if len(g[1]) > long_limit]:
                    good.remove(g)
                    _encode_group([g], tokenizer, writer, summary, long=True)
                    if progress:
                        progress(len(g[1]) / sr)
            for group in _groups(good, tokenizer.batch_exact):
                _encode_group(group, tokenizer, writer, summary)
                if progress:
                    progress(sum(len(w) for _, w in group) / sr)
    finally:
        writer.close()
    summary.errors = writer.manifest.errors
    summary.wall_s = time.perf_counter() - t0
    return summary


def _groups(good: list[tuple[Planned, np.ndarray]], batch_exact: bool):
    if batch_exact or not good:
        if good:
            yield good
        return
    by_len: dict[int, list[tuple[Planned, np.ndarray]]] = {}
    for g in good:
        by_len.setdefault(len(g[1]), []).append(g)
    yield from by_len.values()


def _encode_group(
    group, tokenizer: Tokenizer, writer: StoreWriter, summary: RunSummary, long: bool = False
) -> None:
    import torch

    lengths = torch.tensor([len(w) for _, w in group])
    if len(group) == 1:  # no padding: no copy (an hour at 44.1 kHz is 635 MB)
        batch = torch.from_numpy(group[0][1]).view(1, 1, -1)
    else:
        batch = torch.zeros(len(group), 1, int(lengths.max()))
        for b, (_, w) in enumerate(group):
            batch[b, 0, : len(w)] = torch.from_numpy(w)
    with torch.inference_mode():
        if long:
            codes, code_lengths = tokenizer.encode_long(batch.to(tokenizer.device))
        else:
            codes, code_lengths = tokenizer.encode_batch(batch.to(tokenizer.device), lengths)
    codes_np = codes.cpu().numpy()
    for b, (p, w) in enumerate(group):
        n = int(code_lengths[b])
        writer.add(p.item.id, p.item.rel, len(w) / tokenizer.sample_rate, codes_np[b, :, :n])
        summary.encoded += 1
        summary.seconds += len(w) / tokenizer.sample_rate
        summary.frames += n
