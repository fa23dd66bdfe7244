"""Running a corpus: the one failure policy and run summary, and the local engine.

:func:`stream` / :func:`run` drive any engine (:class:`LocalEngine` here, the Ray engine in
:mod:`audiotok.engines.ray`): an engine only streams ``(item, num_samples, array)`` rows and
hands each failure to the ``fail`` it is given; what a failure means and what a run counts
live here, once.

One failure policy for every corpus command: a file that cannot be probed, decoded, is too
short to give a frame, or makes the model fail is handed to ``sink.fail(item, reason)`` (the
store records it by id with its path and reason; the caller's ``on_error`` prints it) and
counted; the run goes on. ``strict`` stops at the first failure. Ctrl-C stops the workers at
once (never waiting on them), leaves the store resumable, and a second Ctrl-C exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from audiotok.corpus import AudioItem
from audiotok.errors import AudiotokError
from audiotok.pipeline.load import Loaded, WorkerPool, load_batches
from audiotok.pipeline.plan import Planned, make_batches, probe_all, within_limit


class Sink(Protocol):
    done_ids: set[str]

    def put(self, item: AudioItem, num_samples: int, array: np.ndarray) -> None: ...

    def fail(self, item: AudioItem, reason: str) -> None: ...


class BatchFn(Protocol):
    @property
    def sample_rate(self) -> int: ...

    @property
    def batch_exact(self) -> bool: ...

    def num_frames(self, num_samples: int) -> int: ...

    def __call__(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]: ...


@dataclass
class Events:
    """Callbacks for the caller (the CLI's progress and error lines); all optional."""

    on_error: Callable[[AudioItem, str], None] | None = None
    on_total: Callable[[float, int], None] | None = None  # audio seconds, files
    on_progress: Callable[[float, int], None] | None = None  # audio seconds, files done


@dataclass
class RunOptions:
    batch_seconds: float = 60.0
    num_workers: int = 2
    max_duration: float | None = None
    strict: bool = False
    spill_seconds: float = 600.0  # longer files travel from workers as memory-mapped files

    def check(self) -> None:
        if not self.batch_seconds > 0:
            raise AudiotokError(f"--batch-seconds must be > 0, got {self.batch_seconds:g}")
        if self.num_workers < 0:
            raise AudiotokError(f"--num-workers must be >= 0, got {self.num_workers}")
        if self.max_duration is not None and not self.max_duration > 0:
            raise AudiotokError(f"--max-duration must be > 0, got {self.max_duration:g}")


@dataclass
class RunSummary:
    out_dir: str = ""
    encoded: int = 0
    already_done: int = 0
    failed: int = 0  # files that failed in this run
    seconds: float = 0.0
    frames: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)  # the store's, after the run
    wall_s: float = 0.0
    repaired_shards: list[str] = field(default_factory=list)


class StrictStop(AudiotokError):
    """--strict: the first failure ends the run (what was done before it is kept)."""


Row = tuple[AudioItem, int, np.ndarray]  # (item, samples at the model's rate, array)
Work = AudioItem | Planned  # a Planned item (probed already) is not probed again


def run(
    items: Sequence[Work],
    batch_fn: BatchFn,
    sink: Sink,
    options: RunOptions | None = None,
    events: Events | None = None,
    summary: RunSummary | None = None,
    engine: Engine | None = None,
) -> RunSummary:
    """Push ``items`` (minus ``sink.done_ids``) through ``batch_fn`` into ``sink`` on
    ``engine`` (default: this machine)."""
    s = summary or RunSummary()
    todo = [it for it in items if it.id not in sink.done_ids]
    s.already_done += len(items) - len(todo)
    for item, n, arr in stream(todo, batch_fn, sink.fail, options, events, s, engine):
        sink.put(item, n, arr)
    return s


def failure_handler(
    summary: RunSummary,
    on_fail: Callable[[AudioItem, str], None],
    events: Events,
    strict: bool,
) -> Callable[[AudioItem, str], None]:
    """What an engine calls for a file that fails: counted, handed to ``on_fail`` and
    ``events.on_error``; with ``strict``, the run stops there."""

    def fail(item: AudioItem, reason: str) -> None:
        summary.failed += 1
        on_fail(item, reason)
        if events.on_error:
            events.on_error(item, reason)
        if strict:
            raise StrictStop(
                "--strict: stopped at the first file that failed (above); what was done "
                "before it is kept, rerun to resume"
            )

    return fail


def stream(
    items: Sequence[Work],
    batch_fn: BatchFn,
    on_fail: Callable[[AudioItem, str], None],
    options: RunOptions | None = None,
    events: Events | None = None,
    summary: RunSummary | None = None,
    engine: Engine | None = None,
) -> Iterator[Row]:
    """``(item, num_samples, array)`` for each item that goes through ``engine`` (default:
    :class:`LocalEngine`); failures go to ``on_fail`` (and ``events.on_error``) through the
    one failure policy, and everything is counted in ``summary``: the only place that counts."""
    opts = options or RunOptions()
    opts.check()
    ev = events or Events()
    s = summary if summary is not None else RunSummary()
    sr = batch_fn.sample_rate
    fail = failure_handler(s, on_fail, ev, opts.strict)
    t0 = time.perf_counter()
    rows = (engine or LocalEngine()).stream(items, batch_fn, fail, opts, ev)
    try:
        with contextlib.closing(rows):  # a failing consumer ends the engine's run at once
            for item, n, arr in rows:
                yield item, n, arr
                s.encoded += 1
                s.seconds += n / sr
                s.frames += int(arr.shape[-1] if arr.ndim == 2 else arr.shape[-2])
    finally:
        s.wall_s += time.perf_counter() - t0


class Engine(Protocol):
    """How the batches of a run are streamed (:mod:`audiotok.pipeline.engine` names them)."""

    def stream(
        self,
        items: Sequence[Work],
        batch_fn: BatchFn,
        fail: Callable[[AudioItem, str], None],
        options: RunOptions,
        events: Events,
    ) -> Generator[tuple[AudioItem, int, np.ndarray], None, None]: ...


class LocalEngine:
    """This machine: header probes and decoding in worker processes, the model here."""

    def stream(
        self,
        items: Sequence[Work],
        batch_fn: BatchFn,
        fail: Callable[[AudioItem, str], None],
        options: RunOptions,
        events: Events,
    ) -> Generator[Row, None, None]:
        """``(item, num_samples, array)`` per item that goes through, in batch order; each
        failure goes to ``fail`` (the caller's policy: it counts, reports, may stop)."""
        opts, ev, sr = options, events, batch_fn.sample_rate
        pool = WorkerPool(opts.num_workers) if opts.num_workers > 0 and items else None
        spill_tmp = tempfile.TemporaryDirectory(prefix="audiotok-spill-") if items else None
        aborted = True
        try:
            planned = _plan(items, sr, opts, pool, fail)
            if ev.on_total:
                ev.on_total(sum(p.num_samples for p in planned) / sr, len(planned))
            long_samples = getattr(batch_fn, "long_samples", None)
            batches = make_batches(
                planned, int(opts.batch_seconds * sr), not batch_fn.batch_exact, long_samples
            )
            loaded = load_batches(
                batches,
                sample_rate=sr,
                num_workers=opts.num_workers,
                max_duration=opts.max_duration,
                spill_samples=int(opts.spill_seconds * sr),
                spill_dir=Path(spill_tmp.name) if spill_tmp else None,
                pool=pool,
            )
            for batch in loaded:
                yield from process_batch(batch, batch_fn, fail, ev)
            aborted = False
        except KeyboardInterrupt:
            # a second Ctrl-C while we clean up ends the process at once
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(signal.SIGINT, lambda *_: os._exit(130))
            raise
        finally:
            if pool is not None:
                pool.close(abort=aborted)
            if spill_tmp is not None:
                spill_tmp.cleanup()


def split_work(
    items: Sequence[Work], max_duration: float | None, fail: Callable[[AudioItem, str], None]
) -> tuple[list[Planned], list[AudioItem]]:
    """(planned, to probe): items probed already are checked against ``max_duration`` here
    (a refused one goes to ``fail``); the others are left to the engine's probe."""
    planned: list[Planned] = []
    todo: list[AudioItem] = []
    for w in items:
        if isinstance(w, Planned):
            p = within_limit(w, max_duration)
            if isinstance(p, str):
                fail(w.item, p)
            else:
                planned.append(p)
        else:
            todo.append(w)
    return planned, todo


def _plan(
    items: Sequence[Work],
    sr: int,
    opts: RunOptions,
    pool: WorkerPool | None,
    fail: Callable[[AudioItem, str], None],
) -> list[Planned]:
    planned, todo = split_work(items, opts.max_duration, fail)
    for item, p in probe_all(todo, sr, opts.max_duration, pool):
        if isinstance(p, str):
            fail(item, p)
        else:
            planned.append(p)
    return planned


def process_batch(
    batch: list[Loaded],
    batch_fn: BatchFn,
    fail: Callable[[AudioItem, str], None],
    ev: Events,
) -> Iterator[Row]:
    """One loaded batch through the batch function with the failure policy: unreadable, too
    short, or failing in the model (retried alone) -> ``fail``; the rest yielded. The Ray
    engine's model stage runs this too, so every engine gives the same reasons."""
    sr = batch_fn.sample_rate
    good: list[tuple[AudioItem, np.ndarray]] = []
    for ld in batch:
        item = ld.planned.item
        if ld.reason is not None:
            fail(item, ld.reason)
            continue
        wav = ld.array()
        if batch_fn.num_frames(len(wav)) <= 0:
            fail(item, f"too short: {len(wav) / sr * 1000:.1f} ms gives no frame")
            continue
        good.append((item, wav))
    if not good:
        return
    outs = _call(batch_fn, good, fail)
    for (item, wav), arr in outs:
        yield item, len(wav), arr
    if ev.on_progress:
        ev.on_progress(sum(len(w) for _, w in good) / sr, len(batch))


def _call(
    batch_fn: BatchFn,
    good: list[tuple[AudioItem, np.ndarray]],
    fail: Callable[[AudioItem, str], None],
) -> list[tuple[tuple[AudioItem, np.ndarray], np.ndarray]]:
    """Run the batch; if the model fails on it, retry the files one by one and report the
    ones that fail alone (the model's error is their reason)."""
    try:
        return list(zip(good, batch_fn([w for _, w in good]), strict=True))
    except (KeyboardInterrupt, AudiotokError):
        raise
    except Exception as e:  # noqa: BLE001 - the model's failure on some input
        if len(good) == 1:
            fail(good[0][0], f"the model failed on this file ({type(e).__name__}: {e})")
            return []
    out = []
    for g in good:
        out.extend(_call(batch_fn, [g], fail))
    return out
