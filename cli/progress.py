"""Corpus progress on stderr: a rich bar on a terminal, plain periodic lines elsewhere.

Both classes take the same calls (see :func:`audiotok.cli.common.corpus_progress`):
``with progress:``, ``progress.update(task, total=seconds, files_total=n)``,
``progress.advance(task, seconds, files=n)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text


def _hms(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class PlainProgress:
    """One line every ``interval`` seconds, from a daemon thread, while the context is open.

    A line: ``[0:00:20] encoding: 12/40 files, 35.2/120.0 s of audio, 8.4 s/s, ETA 0:00:10``.
    The rate is seconds of audio per second of wall time since the context opened.
    """

    def __init__(
        self,
        verb: str,
        interval: float,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verb, self.interval, self.stream, self._clock = verb, interval, stream, clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = clock()
        self.total_s = 0.0
        self.done_s = 0.0
        self.files_done = 0
        self.files_total: int | None = None

    def add_task(self, description: str, total: float | None = 0.0) -> int:
        self.total_s = float(total or 0.0)
        return 0

    def update(
        self,
        task: int,
        *,
        total: float | None = None,
        completed: float | None = None,
        files_total: int | None = None,
        files_done: int | None = None,
    ) -> None:
        with self._lock:
            if total is not None:
                self.total_s = float(total)
            if completed is not None:
                self.done_s = float(completed)
            if files_total is not None:
                self.files_total = int(files_total)
            if files_done is not None:
                self.files_done = int(files_done)

    def advance(self, task: int, advance: float = 0.0, files: int = 0) -> None:
        with self._lock:
            self.done_s += float(advance)
            self.files_done += int(files)

    def line(self) -> str:
        with self._lock:
            elapsed = self._clock() - self._t0
            done, total = self.done_s, self.total_s
            files = f"{self.files_done}" + (
                f"/{self.files_total}" if self.files_total is not None else ""
            )
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = _hms((total - done) / rate) if rate > 0 and total > done else "?"
        if total > 0 and done >= total:
            eta = _hms(0)
        return (
            f"[{_hms(elapsed)}] {self.verb}: {files} files, {done:.1f}/{total:.1f} s of audio, "
            f"{rate:.1f} s/s, ETA {eta}"
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                print(self.line(), file=self.stream, flush=True)
            except (OSError, ValueError):  # stream closed under us: stop quietly
                return

    def __enter__(self) -> PlainProgress:
        self._t0 = self._clock()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audiotok-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class _FilesColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        done, total = task.fields.get("files_done", 0), task.fields.get("files_total")
        return Text(f"{done}/{total} files" if total is not None else f"{done} files")


class RichCorpusProgress(Progress):
    """rich's bar over seconds of audio, plus a count of files (``advance(..., files=n)``)."""

    def __init__(self, verb: str, *, console: Any, disable: bool) -> None:
        super().__init__(
            TextColumn(verb),
            BarColumn(),
            _FilesColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
            TimeRemainingColumn(),
            console=console,
            disable=disable,
            transient=True,
        )

    def advance(self, task_id: Any, advance: float = 1, files: int = 0) -> None:
        super().advance(task_id, advance)
        if files:
            task = next(t for t in self.tasks if t.id == task_id)
            self.update(task_id, files_done=task.fields.get("files_done", 0) + files)
