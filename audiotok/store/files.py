"""Files audiotok writes (stores, weights): atomic umask-respecting writes, store names, sums.

A store writes every file under a temporary name that only it uses (``.<final name>.<tag>.tmp``),
fsyncs it and renames it into place, so a reader or a killed run never sees half a file. The
temporary names are the only ``*.tmp`` files a store ever deletes: a user's ``notes.tmp`` is
left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

# .<final name>.<tag>.tmp, where the final name is a store file (see is_tmp_of_store)
_TMP_RE = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{8}\.tmp$")


def tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")


def final_of_tmp(name: str) -> str | None:
    """The file a temporary name was going to become, or None when it is not one of ours."""
    m = _TMP_RE.match(name)
    return m.group("final") if m else None


def _open_new(path: Path) -> BinaryIO:
    # os.open with 0o666 lets the umask decide the mode, as for any file the user creates
    # (tempfile.mkstemp would force 0600 and hide the store from the rest of a shared cluster).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    return os.fdopen(fd, "wb")


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through ``write(fileobj)`` under a temporary name, fsync, rename."""
    tmp = tmp_name(path)
    try:
        with _open_new(tmp) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def save_safetensors(
    tensors: dict[str, Any], path: str | os.PathLike[str], metadata: dict[str, str] | None = None
) -> None:
    """``safetensors.torch.save_file``, but atomic and with the umask's mode: safetensors
    creates its files 0600 whatever the umask, which hides weights from the rest of a group."""
    from safetensors.torch import save

    atomic_write_bytes(Path(path), save(tensors, metadata=metadata))


def new_tmp(final: Path) -> Path:
    """A temporary path for a writer that needs a file name (pyarrow, numpy); the file is
    created empty with umask-respecting permissions so the writer only fills it."""
    tmp = tmp_name(final)
    _open_new(tmp).close()
    return tmp


def commit_tmp(tmp: Path, final: Path) -> None:
    """fsync a filled temporary file and rename it into place."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def crc32_of(path: Path, chunk: int = 1 << 22) -> str:
    import zlib

    c = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            c = zlib.crc32(block, c)
    return f"{c:08x}"


def describe(path: Path, chunk: int = 1 << 22) -> dict[str, int | str]:
    """What the commit record keeps of a file: its size, sha256 (what ``info --check`` and
    merge compare) and crc32 (twice as fast: what readers check on first use), in one read."""
    import zlib

    h, c = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            c = zlib.crc32(block, c)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest(), "crc32": f"{c:08x}"}


def audio_path_in_row(path: str | os.PathLike[str], root: str | None) -> str:
    """What a row records of its audio: the path relative to the store's ``audio_root`` when
    it lies under it, else the path as given (absolute paths resolve on their own)."""
    p = Path(path)
    if p.is_absolute() and root:
        with contextlib.suppress(ValueError):
            return p.relative_to(root).as_posix()
    return p.as_posix()
