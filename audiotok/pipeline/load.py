"""Load: worker processes decode, downmix and resample while the model runs.

Workers import no torch (soundfile + soxr), ignore Ctrl-C (the main process stops them), and
die with their parent (``PR_SET_PDEATHSIG`` on Linux, plus a watchdog elsewhere), so neither
an interrupted nor a killed run leaves a decoder behind. At most ``2 * workers`` batches are
in flight, so memory is bounded by the batch budget, not by the corpus.

A long file (planned past ``spill_samples``) is not pickled back whole: the worker decodes it
block by block into a raw float32 file in a scratch folder and returns its path; the main
process maps it (``np.memmap``) and the batch function reads it window by window.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiotok import audio
from audiotok.corpus import AudioItem
from audiotok.errors import AudioError
from audiotok.pipeline.plan import PROBE_CHUNK, Planned, probe_all

BLOCK_SECONDS = 30.0


@dataclass
class Loaded:
    planned: Planned
    wave: np.ndarray | None = None  # float32 mono at the model's rate
    spill: str | None = None  # raw float32 file holding the wave (long files)
    spill_len: int = 0
    reason: str | None = None  # why the file could not be loaded

    def array(self) -> np.ndarray:
        """The waveform; a spilled one is memory-mapped (copy-on-write) and its file removed."""
        if self.wave is not None:
            return self.wave
        assert self.spill is not None
        arr = np.memmap(self.spill, dtype=np.float32, mode="c", shape=(self.spill_len,))
        with contextlib.suppress(OSError):
            os.unlink(self.spill)  # the mapping keeps the data until it is dropped
        self.wave = arr
        return arr


def load_one(
    p: Planned,
    sample_rate: int,
    max_duration: float | None,
    spill_dir: str | None,
    spill_samples: int | None,
) -> Loaded:
    try:
        if spill_dir is not None and spill_samples is not None and p.num_samples > spill_samples:
            return _spill(p, sample_rate, spill_dir)
        wav = audio.read(p.item.path, sample_rate)
    except AudioError as e:
        return Loaded(p, reason=e.reason)
    except MemoryError:
        return Loaded(p, reason="out of memory while decoding (file too large for this machine)")
    except Exception as e:  # noqa: BLE001 - one bad file must not end the run
        return Loaded(p, reason=f"unreadable ({type(e).__name__}: {e})")
    if max_duration is not None and len(wav) > max_duration * sample_rate:
        return Loaded(p, reason=f"longer than --max-duration ({len(wav) / sample_rate:.0f} s)")
    return Loaded(p, wave=wav)


def _spill(p: Planned, sample_rate: int, spill_dir: str) -> Loaded:
    read_blocks = getattr(audio, "read_blocks", None)
    fd, path = tempfile.mkstemp(dir=spill_dir, suffix=".f32")
    n = 0
    try:
        with os.fdopen(fd, "wb") as f:
            if read_blocks is not None:
                for block in read_blocks(p.item.path, sample_rate, BLOCK_SECONDS):
                    f.write(np.ascontiguousarray(block, dtype=np.float32).tobytes())
                    n += len(block)
            else:
                wav = audio.read(p.item.path, sample_rate)
                f.write(wav.tobytes())
                n = len(wav)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    if n == 0:
        os.unlink(path)
        return Loaded(p, reason="no audio samples (0 frames)")
    return Loaded(p, spill=path, spill_len=n)


def load_batch(batch: list[Planned], *args: Any) -> list[Loaded]:
    return [load_one(p, *args) for p in batch]


# --- worker processes ---------------------------------------------------------------------
def _worker_init(parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the group: the parent decides
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(1)


class WorkerPool:
    """Spawned worker processes with bounded prefetch; ``close`` never waits on a hang."""

    def __init__(self, num_workers: int):
        import multiprocessing as mp

        self.n = num_workers
        ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
        self.pool = ctx.Pool(num_workers, initializer=_worker_init, initargs=(os.getpid(),))

    def imap(self, fn: Callable[..., Any], jobs: Iterable[tuple], depth: int) -> Iterator[Any]:
        """fn(*job) for each job, in order, with at most ``depth`` jobs in flight."""
        from multiprocessing import TimeoutError as PoolTimeout

        pending: deque[Any] = deque()
        it = iter(jobs)
        for job in it:
            pending.append(self.pool.apply_async(fn, job))
            if len(pending) >= depth:
                break
        while pending:
            res = pending.popleft()
            while True:  # a timed wait keeps Ctrl-C responsive
                try:
                    out = res.get(timeout=0.5)
                    break
                except PoolTimeout:
                    continue
            nxt = next(it, None)
            if nxt is not None:
                pending.append(self.pool.apply_async(fn, nxt))
            yield out

    def close(self, *, abort: bool = False) -> None:
        """Wait for the workers (``abort``: stop them now). An abort never waits on a hang:
        ``Pool.terminate`` can block on its result-handler thread, so it runs in a thread of
        its own for at most 10 s, after which the pool's processes are killed outright."""
        if not abort:
            self.pool.close()
            self.pool.join()
            return

        def terminate() -> None:
            self.pool.terminate()
            self.pool.join()

        t = threading.Thread(target=terminate, daemon=True)
        t.start()
        t.join(timeout=10)
        if t.is_alive():
            for proc in list(getattr(self.pool, "_pool", ())):  # the workers, none else
                with contextlib.suppress(Exception):
                    proc.kill()


def load_batches(
    batches: list[list[Planned]],
    *,
    sample_rate: int,
    num_workers: int,
    max_duration: float | None,
    spill_samples: int | None,
    spill_dir: Path | None,
    pool: WorkerPool | None,
) -> Iterator[list[Loaded]]:
    args = (
        sample_rate,
        max_duration,
        str(spill_dir) if spill_dir else None,
        spill_samples if spill_dir else None,
    )
    if pool is None:
        for b in batches:
            yield load_batch(b, *args)
        return
    yield from pool.imap(load_batch, ((b, *args) for b in batches), depth=2 * num_workers)


def probe_corpus(
    items: Sequence[AudioItem], sample_rate: int, num_workers: int = 0
) -> list[Planned | str]:
    """The header of every item (no ``--max-duration``: a caller applies its own limit with
    :func:`within_limit`), probed by ``num_workers`` worker processes; in the items' order."""
    if num_workers <= 0 or len(items) <= PROBE_CHUNK:
        return [p for _, p in probe_all(items, sample_rate, None, None)]
    pool = WorkerPool(num_workers)
    aborted = True
    try:
        out = [p for _, p in probe_all(items, sample_rate, None, pool)]
        aborted = False
    finally:
        pool.close(abort=aborted)
    return out
