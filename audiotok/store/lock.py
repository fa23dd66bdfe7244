"""One writer per store: an exclusive lock held for the writer's lifetime.

The lock is ``fcntl.flock`` on ``<store>/.lock``, which the kernel releases when the process
ends however it ends (``kill -9`` included), so a lock is never stale. The file holds who
took it (pid, host, start time, command) for the message a second writer gets. ``flock`` is
per machine on some network file systems: two hosts writing one store over NFS are not
stopped by it (``--shard i/N`` into separate stores plus ``audiotok merge`` is the way there).

The file exists only while a writer holds it: ``release`` removes it (still holding the lock),
and a refused writer removes nothing, so a refused or finished run leaves no ``.lock``. Because
a file can be removed between another process's ``open`` and ``flock``, ``acquire`` checks that
the file it locked is still the one at the path, and tries again otherwise.

A command takes the lock before it loads a model (:func:`reserve`): a second writer is refused
at once, not after minutes of loading. The writer this process then opens on the same folder
borrows the reserved lock (one writer at a time: a second one in the process is refused as
from another process).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from audiotok.errors import StoreLockedError

LOCK_NAME = ".lock"


_reserved: dict[str, StoreLock] = {}  # locks taken by reserve(), lent to one writer at a time


def _key(directory: Path) -> str:
    return str(directory.absolute().resolve())


class StoreLock:
    def __init__(self, directory: Path):
        self.path = directory / LOCK_NAME
        self._fd: int | None = None
        self._borrowed: StoreLock | None = None
        self._lent = False

    def acquire(self) -> StoreLock:
        import fcntl

        mine = _reserved.get(_key(self.path.parent))
        if mine is not None and not mine._lent:
            mine._lent = True
            self._borrowed = mine
            return self

        tries = 0
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                tries += 1
                if tries < 5:  # a reader's probe (writer_holding) holds it for microseconds
                    os.close(fd)
                    time.sleep(0.01)
                    continue
                holder = _read_holder(fd)
                os.close(fd)
                raise StoreLockedError(
                    f"{self.path.parent} is being written by another audiotok process "
                    f"({holder}); wait for it to finish or stop it, then rerun"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder removed it as we opened it: lock the new one
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(sys.argv[:6])[:200],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._borrowed is not None:
            self._borrowed._lent = False
            self._borrowed = None
            return
        if self._fd is None:
            return
        import fcntl

        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None or self._borrowed is not None


@contextlib.contextmanager
def reserve(directory: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``directory``'s lock for the block (create the folder if needed): call it before
    loading a model, so that a second writer is refused before any work. The writer opened
    inside the block borrows it. On the way out the lock file is removed, and so is the folder
    when the block created it and left it empty (a refused run leaves nothing)."""
    from audiotok.errors import AudiotokError

    d = Path(directory)
    created = not d.exists()
    try:
        d.mkdir(parents=True, exist_ok=True)
        lock = StoreLock(d).acquire()
    except OSError as e:
        raise AudiotokError(f"cannot write to {d}: {e.strerror or e}") from None
    key = _key(d)
    _reserved[key] = lock
    try:
        yield
    finally:
        _reserved.pop(key, None)
        lock.release()
        if created:
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty


def writer_holding(directory: str | os.PathLike[str]) -> str | None:
    """Who is writing the store now ("pid N on host H since T"), None when nobody is: readers
    use it to say that they see only what the writer committed so far."""
    import fcntl

    try:
        fd = os.open(Path(directory) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None  # no lock file: no writer
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on host {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
