"""Damaged stores: what a reader checks in a commit record before trusting it, and how the
errors of damaged data (a mutated record can put any JSON value in any field; pyarrow, numpy
and our own indexing fail on damaged files) become one CorruptStoreError naming the store, at
the readers' public entry points (:func:`translated`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from audiotok.errors import AudiotokError, CorruptStoreError
from audiotok.store import record as R


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())[:120]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class NoSuchId(KeyError):
    """``get``/``row`` of an id the store does not hold: a KeyError, as for a dict."""


# What damaged files or a damaged record raise inside pyarrow, numpy and our own indexing
# (a mutated record can put any JSON value in any field): translated at the public entry
# points of the store readers into one CorruptStoreError naming the store.
DATA_ERRORS = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    OverflowError,
    RecursionError,
    ZeroDivisionError,
    UnicodeError,
    OSError,
    pa.ArrowException,
)


def damaged_store(directory: Path, e: BaseException) -> CorruptStoreError:
    return CorruptStoreError(
        f"store {directory} is damaged ({one_line(e)}); `audiotok info --check {directory}` "
        "names the broken shards of a token store, and rerunning the command that wrote the "
        "store rewrites them"
    )


def translated(method: Callable[..., Any]) -> Callable[..., Any]:
    """Entry point of a store reader (an object with ``dir``): errors of damaged data become a
    CorruptStoreError naming the store."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def gen(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except (AudiotokError, NoSuchId):
                raise
            except DATA_ERRORS as e:
                raise damaged_store(self.dir, e) from None

        return gen

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (AudiotokError, NoSuchId):
            raise
        except DATA_ERRORS as e:
            raise damaged_store(self.dir, e) from None

    return call


def check_token_record(directory: Path, rec: R.Record) -> None:
    """What the reader relies on in a token record: a usable spec, plain shard file names."""
    spec = rec.data.get("spec")
    assert isinstance(spec, dict)  # R.read checked it
    problems = []
    for key in ("num_codebooks", "codebook_size", "sample_rate"):
        v = spec.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v < 1 << 32:
            problems.append(f"spec.{key} is {v!r}, not a positive integer")
    fr = spec.get("frame_rate")
    if isinstance(fr, bool) or not isinstance(fr, (int, float)) or not 0 < fr < 1e9:
        problems.append(f"spec.frame_rate is {fr!r}, not a positive number")
    for s in rec.shards:
        files = s.get("files", {})
        names = [s.get("file"), *(files if isinstance(files, dict) else [None])]
        if not all(isinstance(n, str) and plain_name(n) for n in names):
            problems.append(f"shard {str(s.get('file'))[:60]!r} names a file outside the store")
            break
        n = s.get("num_utterances")
        if (
            isinstance(n, bool)
            or not isinstance(n, int)
            or not 0 <= n <= _size(directory / s["file"])
        ):
            # a row takes at least a byte of its shard: a larger count is a damaged length
            # field (len(store) would make list(store) allocate it)
            problems.append(f"shard {s['file']!r} has num_utterances {n!r}")
            break
        if not all(_number(s.get(k, 0)) for k in ("num_frames", "duration_s")):
            problems.append(f"shard {s['file']!r} has a num_frames or duration_s that is no number")
            break
    if not all(isinstance(e, dict) for e in rec.errors):
        problems.append("'errors' is not a list of objects")
    if not isinstance(rec.data.get("run", {}), dict):
        problems.append("'run' is not an object")
    if problems:
        path = R.path_of(directory) or directory / R.RECORD
        raise CorruptStoreError(R.damaged(path, "; ".join(problems)))


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e18


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 1 << 62  # a missing shard is reported when it is read


def plain_name(name: str) -> bool:
    """A path inside the store: relative, no '..', no empty part, no NUL."""
    parts = name.split("/")
    return (
        bool(name)
        and "\0" not in name
        and not name.startswith("/")
        and all(p not in ("", ".", "..") for p in parts)
    )
