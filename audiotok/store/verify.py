"""Reads are verified: a shard's files are checked against the commit record before a reader
trusts them.

The record keeps every shard file's size, sha256 and crc32 (written when the shard was
committed). :func:`check_shard` compares the files with it and raises
:class:`CorruptStoreError` naming the shard, the damage and the repair (rerun the encode
command: a writer re-encodes a broken shard's utterances). Each reader checks a shard on its
first use in a process; a process remembers files it checked by (path, inode, size, mtime), so
a second store object or a second pass costs one ``stat`` per file, and a file rewritten since
(another mtime) is checked again.

The check costs one read of the shard (crc32 where the record has it, about twice as fast as
sha256; records of older stores have only the sha256), which also brings the shard into the
page cache for the read that follows (the Parquet decode or the flat copy's memory map), so a
full pass reads the disk once. Because both the Parquet shard and its flat copy must match the
checksums recorded when they were written together, the two readers can never give different
codes silently.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from audiotok.errors import CorruptStoreError

_Key = tuple[str, int, int, int, str]  # path, inode, size, mtime, the sha256 it must have
_checked: set[_Key] = set()
_guard = threading.Lock()


def _key(p: Path, want_sha: str) -> tuple[_Key | None, os.stat_result | None]:
    try:
        st = p.stat()
    except OSError:
        return None, None
    return (str(p.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, want_sha), st


def file_damage(p: Path, want: dict[str, Any], *, cached: bool = True) -> str | None:
    """What is wrong with file ``p`` against its record entry ``{bytes, sha256, crc32}``, or
    None. Readers (``cached``) compare the crc32 where the record has one (twice as fast as
    sha256; any burst of up to 32 flipped bits is caught, other damage with odds of 2^-32 to
    pass); ``info --check`` and merge (``cached=False``) compare the sha256."""
    from audiotok.store.files import crc32_of, sha256_of

    key, st = _key(p, str(want.get("sha256")))
    if key is None or st is None:
        return "is missing" if not p.exists() else "cannot be read"
    if cached and key in _checked:
        return None
    if st.st_size != want.get("bytes"):
        return f"has {st.st_size} bytes, the record says {want.get('bytes')}"
    kind = "crc32" if cached and want.get("crc32") else "sha256"
    if want.get(kind):
        try:
            got = crc32_of(p) if kind == "crc32" else sha256_of(p)
        except OSError as e:
            return f"cannot be read ({e.strerror or e})"
        if got != want[kind]:
            return f"does not match its {kind} in the record (modified or corrupted)"
    with _guard:
        _checked.add(key)
    return None


def check_shard(directory: Path, entry: dict[str, Any], *, cached: bool = True) -> None:
    """Raise CorruptStoreError when a file of the shard ``entry`` differs from the record.

    Shards of audiotok 0.1 stores (no ``files`` entry) only need their file to exist."""
    files = entry.get("files")
    if not files:
        p = directory / entry["file"]
        if not p.is_file():
            raise CorruptStoreError(message(directory, entry, f"{entry['file']} is missing"))
        return
    for name, want in files.items():
        why = file_damage(directory / name, want, cached=cached)
        if why:
            raise CorruptStoreError(message(directory, entry, f"{name} {why}"))


def message(directory: Path, entry: dict[str, Any], why: str) -> str:
    n = entry.get("num_utterances", "its")
    return (
        f"{directory}: shard {entry['file']} is damaged ({why}); rerun the encode command "
        f"that wrote {directory} (same options and -o, without --overwrite): it re-encodes "
        f"the shard's {n} utterances"
    )


def forget() -> None:
    """Check every file again on next use (tests; a caller that distrusts its page cache)."""
    with _guard:
        _checked.clear()
