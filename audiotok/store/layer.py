"""The sharded-store layer: one writer protocol for token stores and feature stores.

A store is a folder of shards and one commit record (:mod:`audiotok.store.record`). A writer:

- holds the store's lock for its lifetime (:mod:`audiotok.store.lock`): a second writer fails at
  once, naming the holder;
- resumes: shards the record lists are kept; files a killed run left (its temporary files,
  shard files the record does not list) are removed — only names the store owns, never a
  user's file;
- verifies every committed shard against the size and sha256 in the record; a broken shard is
  reported, removed, and its utterances are encoded again by the same run ("loses nothing");
- refuses to mix payloads of another identity (tokenizer, extractor), to rewrite a store of a
  newer format, and starts again only with ``overwrite`` (removing only the store's files);
- keeps errors by id (a file that later succeeds leaves the list);
- commits what it holds at least every ``commit_seconds`` of work (default 30 s, or the
  ``AUDIOTOK_COMMIT_SECONDS`` environment variable) as well as by size, so a killed run keeps
  what it finished;
- adopts shards written by another process (``--shard i/N`` runs, Ray stages), checking their
  identity and refusing duplicate ids.

Payload classes (:class:`audiotok.store.tokens.TokenWriter`,
:class:`audiotok.store.features.FeatureWriter`) say what a shard holds.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, CorruptStoreError
from audiotok.store import record as R
from audiotok.store.files import describe, final_of_tmp
from audiotok.store.lock import LOCK_NAME, StoreLock

Warn = Callable[[str], None]
COMMIT_ENV = "AUDIOTOK_COMMIT_SECONDS"
COMMIT_SECONDS = 30.0


def commit_seconds(value: float | None = None) -> float:
    """The commit interval: ``value``, else ``$AUDIOTOK_COMMIT_SECONDS``, else 30 s."""
    if value is None:
        env = os.environ.get(COMMIT_ENV, "").strip()
        try:
            value = float(env) if env else COMMIT_SECONDS
        except ValueError:
            raise AudiotokError(f"{COMMIT_ENV}={env!r} is not a number of seconds") from None
    if not value > 0:
        raise AudiotokError(f"the commit interval must be more than 0 seconds, got {value}")
    return float(value)


def _ignore(_: str) -> None:
    pass


class ShardedWriter:
    FORMAT = ""  # record format of the payload
    SHARD_RE = re.compile(r"^$")  # the primary file of a shard
    DATA_DIR_RE: re.Pattern[str] | None = None  # sub-folders holding shard files (features)

    def __init__(
        self,
        directory: str | Path,
        identity: dict[str, Any],
        *,
        overwrite: bool = False,
        run: dict[str, Any] | None = None,
        audio_root: str | Path | None = None,
        warn: Warn | None = None,
        commit_every_s: float | None = None,
    ):
        self.dir = Path(directory)
        self.warn = warn or _ignore
        self.commit_every_s = commit_seconds(commit_every_s)
        self._since = time.monotonic()
        self.repaired: list[str] = []
        _make_dir(self.dir)
        try:
            self.lock = StoreLock(self.dir).acquire()
        except OSError as e:
            raise AudiotokError(f"cannot write to {self.dir}: {e.strerror or e}") from None
        try:
            self._open(identity, overwrite, run or {}, audio_root)
        except BaseException:
            self.lock.release()
            raise

    # --- opening ---------------------------------------------------------------------------
    def _open(self, identity, overwrite, run, audio_root) -> None:
        try:
            old = R.read(self.dir)
        except CorruptStoreError:
            if not overwrite:
                raise
            old = None
            self._remove_store_files()
        if old is not None and old.format != self.FORMAT:
            raise AudiotokError(
                f"{self.dir} holds a store of another kind ({old.format}); choose another directory"
            )
        if old is None:
            stray = [p.name for p in self.dir.iterdir() if not self._owned(p)]
            if stray and not overwrite:
                raise AudiotokError(
                    f"output {self.dir} is not empty and holds no audiotok store "
                    f"(e.g. {sorted(stray)[0]}); choose an empty or new directory"
                )
        if old is not None and old.format_version > R.FORMAT_VERSION:
            raise AudiotokError(
                f"{self.dir} was written by a newer audiotok (store format "
                f"{old.format_version}; this one writes {R.FORMAT_VERSION}); upgrade audiotok"
            )
        if overwrite and old is not None:
            self._remove_store_files()
            old = None
        if old is not None:
            self.check_identity(old, identity)
        legacy = old is not None and old.format_version == 1
        self.record = old or R.Record({"format": self.FORMAT})
        self.record.data.update(identity)
        self.record.data["format_version"] = R.FORMAT_VERSION
        if audio_root is not None and not self.record.audio_root:
            self.record.data["audio_root"] = str(Path(audio_root).resolve())
        now = _now()
        self.record.run = {**self.record.run, **run, "updated": now}
        self.record.run.setdefault("created", now)
        self._clean_orphans()
        self._verify_and_repair()
        self.done_ids = self._committed_ids()
        self._errors = {e["id"]: e for e in self.record.errors}
        self.commit()
        if legacy:  # upgraded from audiotok 0.1: the new record replaces manifest.json
            (self.dir / R.LEGACY_RECORD).unlink(missing_ok=True)

    def check_identity(self, old: R.Record, new: dict[str, Any]) -> None:
        """Payloads refuse to mix (tokens of another tokenizer, features of another model)."""
        raise NotImplementedError

    def _owned(self, p: Path) -> bool:
        """Whether a top-level entry of the folder belongs to the store."""
        name = p.name
        if name in (R.RECORD, R.LEGACY_RECORD, LOCK_NAME) or self.SHARD_RE.match(name):
            return True
        final = final_of_tmp(name)
        if final is not None and (final in (R.RECORD,) or self.SHARD_RE.match(final)):
            return True
        return bool(self.DATA_DIR_RE and p.is_dir() and self.DATA_DIR_RE.match(name))

    def _data_files(self) -> list[Path]:
        """Every file inside the store's data sub-folders."""
        out: list[Path] = []
        if self.DATA_DIR_RE is None:
            return out
        for sub in self.dir.iterdir():
            if sub.is_dir() and self.DATA_DIR_RE.match(sub.name):
                out.extend(f for f in sub.iterdir() if f.is_file())
        return out

    def _is_shard_file(self, name: str) -> bool:
        return bool(self.SHARD_RE.match(name))

    def _remove_store_files(self) -> None:
        for p in list(self.dir.iterdir()):
            if p.name == LOCK_NAME or not self._owned(p):
                continue
            if p.is_dir():
                for f in p.iterdir():
                    if self._is_shard_file(f.name) or final_of_tmp(f.name):
                        f.unlink()
                if not any(p.iterdir()):
                    p.rmdir()
            else:
                p.unlink()

    def _listed_files(self) -> set[str]:
        out: set[str] = set()
        for s in self.record.shards:
            out.add(s["file"])
            out.update(s.get("files", {}))
        return out

    def _clean_orphans(self) -> None:
        listed = self._listed_files()
        for p in [*self.dir.iterdir(), *self._data_files()]:
            if p.is_dir():
                continue
            rel = p.relative_to(self.dir).as_posix()
            tmp_final = final_of_tmp(p.name)
            if (
                tmp_final is not None
                and (tmp_final == R.RECORD or self._is_shard_file(tmp_final))
                or self._is_shard_file(p.name)
                and rel not in listed
            ):
                p.unlink()

    # --- verification ----------------------------------------------------------------------
    def verify(self, *, checksums: bool = True) -> list[tuple[dict[str, Any], str]]:
        """(shard entry, what is wrong) for each broken shard of the record."""
        return verify_shards(self.dir, self.record, checksums=checksums)

    def _verify_and_repair(self) -> None:
        upgraded = False
        for s in self.record.shards:
            if "files" not in s:  # a format-1 shard: describe it now, then check it below
                s["files"] = {
                    f: describe(self.dir / f) for f in self.files_of_legacy_shard(s)
                    if (self.dir / f).is_file()
                }  # fmt: skip
                upgraded = True
        broken = self.verify()
        for entry, why in broken:
            self.warn(
                f"{self.dir}: shard {entry['file']} is broken ({why}); its "
                f"{entry['num_utterances']} utterances will be encoded again"
            )
            self.repaired.append(entry["file"])
            for f in entry.get("files", {entry["file"]: None}):
                (self.dir / f).unlink(missing_ok=True)
        if broken:
            bad = {id(e) for e, _ in broken}
            self.record.data["shards"] = [s for s in self.record.shards if id(s) not in bad]
        if broken or upgraded:
            R.write(self.dir, self.record)

    def files_of_legacy_shard(self, entry: dict[str, Any]) -> list[str]:
        return [entry["file"]]

    # --- ids -------------------------------------------------------------------------------
    def _committed_ids(self) -> set[str]:
        ids: set[str] = set()
        for s in self.record.shards:
            ids.update(self.shard_ids(s))
        return ids

    def shard_ids(self, entry: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    # --- committing ------------------------------------------------------------------------
    def next_shard_index(self) -> int:
        used = [
            int(m.group(1)) for s in self.record.shards if (m := self.SHARD_RE.match(s["file"]))
        ]
        return max(used, default=-1) + 1

    def add_shard(self, entry: dict[str, Any]) -> None:
        """Record a shard whose files are in place (renamed from their temporary names)."""
        entry["files"] = {f: describe(self.dir / f) for f in entry["files"]}
        self.record.shards.append(entry)

    def add_error(self, utt_id: str, path: str, reason: str) -> None:
        """A failed input, by id; ``path`` is kept as rows keep theirs (relative to the
        store's audio root when under it)."""
        from audiotok.store.files import audio_path_in_row

        rel = audio_path_in_row(path, self.record.audio_root)
        self._errors[utt_id] = {"id": utt_id, "path": rel, "reason": reason}

    def clear_error(self, utt_id: str) -> None:
        self._errors.pop(utt_id, None)

    def due(self) -> bool:
        """Whether the rows held have waited ``commit_every_s`` since the last commit."""
        return time.monotonic() - self._since >= self.commit_every_s

    def commit(self) -> None:
        self._since = time.monotonic()
        self.record.errors = sorted(self._errors.values(), key=lambda e: e["id"])
        self.record.run["updated"] = _now()
        R.write(self.dir, self.record)

    def close(self) -> R.Record:
        try:
            self.flush()
        finally:
            self.lock.release()
        return self.record

    def flush(self) -> None:
        self.commit()

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.lock.held:
            self.close()

    # --- adopting --------------------------------------------------------------------------
    def adopt(self, other_dir: str | Path, *, move: bool = False) -> int:
        """Take the committed shards of another store of the same identity into this one.

        Its record's identity must match; ids already here are refused (a duplicate means the
        slices overlapped). Files are hard-linked (copied across file systems; moved with
        ``move``). Returns the number of utterances adopted.
        """
        other = R.read(other_dir)
        if other is None:
            raise AudiotokError(f"{other_dir} is not an audiotok store")
        if other.format != self.FORMAT:
            raise AudiotokError(f"{other_dir} holds {other.format}, not {self.FORMAT}")
        identity = {k: other.data[k] for k in self.identity_keys() if k in other.data}
        self.check_identity(self.record, identity)
        broken = verify_shards(Path(other_dir), other, checksums=True)
        if broken:
            e, why = broken[0]
            raise CorruptStoreError(f"{other_dir}: shard {e['file']} is broken ({why})")
        self.flush()
        n = 0
        for s in other.shards:
            ids = self.shard_ids_of(Path(other_dir), s)
            dup = next((i for i in ids if i in self.done_ids), None)
            if dup is not None:
                raise AudiotokError(
                    f"utterance {dup!r} of {other_dir} is already in {self.dir}: the stores "
                    "overlap (slices of one corpus must be disjoint)"
                )
            self.adopt_shard(Path(other_dir), other, s, move=move)
            self.done_ids.update(ids)
            for i in ids:
                self.clear_error(i)
            n += len(ids)
            self.commit()
        root = other.audio_root
        for e in other.errors:  # their paths re-rooted against this store's audio root
            if e["id"] not in self.done_ids and e["id"] not in self._errors:
                p = e.get("path", "")
                full = str(Path(root) / p) if root and p and not Path(p).is_absolute() else p
                self.add_error(e["id"], full, e.get("reason", ""))
        self.commit()
        return n

    def identity_keys(self) -> tuple[str, ...]:
        raise NotImplementedError

    def shard_ids_of(self, directory: Path, entry: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def adopt_shard(self, src: Path, src_record: R.Record, entry: dict[str, Any], *, move: bool):
        raise NotImplementedError


def verify_shards(
    directory: Path, record: R.Record, *, checksums: bool = True
) -> list[tuple[dict[str, Any], str]]:
    broken = []
    for s in record.shards:
        files = s.get("files")
        if not files:
            if not (directory / s["file"]).is_file():
                broken.append((s, f"{s['file']} is missing"))
            continue
        for name, want in files.items():
            why = _check_file(directory / name, want, checksums)
            if why:
                broken.append((s, f"{name} {why}"))
                break
    return broken


def _check_file(p: Path, want: dict[str, Any], checksums: bool) -> str | None:
    from audiotok.store.verify import file_damage

    if not checksums:
        try:
            size = p.stat().st_size
        except FileNotFoundError:
            return "is missing"
        if size != want.get("bytes"):
            return f"has {size} bytes, the record says {want.get('bytes')}"
        return None
    return file_damage(p, want, cached=False)


def _make_dir(d: Path) -> None:
    if d.exists() and not d.is_dir():
        raise AudiotokError(f"output {d} exists and is not a directory")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if e.errno in (errno.ENOTDIR, errno.EEXIST):
            raise AudiotokError(
                f"cannot create {d}: a part of that path is a file, not a directory"
            ) from None
        raise AudiotokError(f"cannot write to {d}: {e.strerror or e}") from None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
