"""``audiotok merge``: stores of one tokenizer (or one extractor) into one store.

The output is created with the first input's identity (TokenSpec + recipe, or the feature
header + recipe) and each input is adopted through ``ShardedWriter.adopt``, which checks the
identity, verifies every shard against its sha256 and refuses an utterance id already there
(slices of one corpus are disjoint). Files are hard-linked where the file system allows.

A merge resumes: the output's record lists the inputs it took (``run.merged``); such an input
gets only the shards the output lacks (an interrupted merge, or a slice resumed since), a new
one must share no utterance with the output. Slices of ``--slice i/N`` runs
must come from the same listing of the corpus (their stores record a fingerprint of it): a
union of slices of two listings could miss or repeat files, so it is refused; missing slices
are named in a warning (a merge may go in steps).

A merge is all or nothing. Every check runs before anything is written: kinds, then the
identity (the first difference between two inputs' tokenizers or extractors is named before any
id is compared), slices, every input shard against its sha256, then ids (inputs disjoint from
each other and from the output). A new output is built in a hidden temporary folder beside it
(``.<name>.merge-<tag>.tmp``) and renamed into place only when every input is in, so a refused
or killed merge leaves no store at ``-o``; temporary folders of killed merges are removed by
the next merge into the same output. A merge into an existing store (resuming) adopts into it,
shard by shard, after the same checks.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, CorruptStoreError
from audiotok.pipeline.merge_checks import (
    check_checksums,
    check_identities,
    check_ids,
    check_inputs,
    check_slices,
    existing_output,
    input_record,
    overlap,
)
from audiotok.store import record as R

Warn = Callable[[str], None]


@dataclass
class MergeSummary:
    out_dir: str
    format: str
    adopted: dict[str, int] = field(default_factory=dict)  # input -> utterances taken
    skipped: list[str] = field(default_factory=list)  # inputs merged before, nothing new
    utterances: int = 0  # in the output after the merge
    errors: int = 0
    missing_slices: list[str] = field(default_factory=list)


def merge_stores(
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    overwrite: bool = False,
    warn: Warn | None = None,
) -> MergeSummary:
    """Adopt every store of ``inputs`` into ``out_dir`` (created, or resumed)."""
    if not inputs:
        raise AudiotokError("merge needs at least one input store")
    from audiotok.safe_paths import output_folder

    out = output_folder(out_dir)
    records = [(Path(p), input_record(Path(p))) for p in inputs]
    check_inputs(records, out)
    check_identities(records)
    missing = check_slices(records)
    existing = existing_output(out, overwrite)
    if existing is not None:
        if existing.format != records[0][1].format:
            raise AudiotokError(
                f"{out} holds {existing.format}, the inputs {records[0][1].format}: merge into "
                "another folder"
            )
        check_identities([(out, existing), records[0]])
    check_checksums(records)
    check_ids(records, out, existing)
    if missing and warn:
        warn(f"slices {', '.join(missing)} are not among the inputs (merge them later)")
    first = records[0][1]
    roots = [r.audio_root for _, r in records if r.audio_root]
    root = os.path.commonpath(roots) if roots else None
    run: dict[str, Any] = {}  # the inputs merged so far: run["merged"], kept as the merge goes
    in_place = existing is not None or (out.is_dir() and any(out.iterdir()))
    target = out if in_place else _fresh_tmp(out)
    s = MergeSummary(str(out), first.format, missing_slices=missing)
    try:
        writer = _writer(first, target, overwrite=overwrite, run=run, root=root, warn=warn)
        try:
            for path, rec in records:
                n = _adopt(writer, path, rec)
                if n == 0 and rec.num_utterances:
                    s.skipped.append(str(path))
                else:
                    s.adopted[str(path)] = n
        finally:
            writer.close()
        if not in_place:
            _rename_into_place(target, out)
    except BaseException:
        if not in_place:
            shutil.rmtree(target, ignore_errors=True)
        raise
    s.utterances = writer.record.num_utterances
    s.errors = len(writer.record.errors)
    return s


def _tmp_glob(out: Path) -> str:
    return f".{out.name}.merge-*.tmp"


def _fresh_tmp(out: Path) -> Path:
    """A new hidden folder beside ``out``; those of killed merges (unlocked) are removed."""
    from audiotok.errors import StoreLockedError
    from audiotok.store.lock import StoreLock

    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AudiotokError(f"cannot create {parent}: {e.strerror or e}") from None
    for old in parent.glob(_tmp_glob(out)):
        try:
            StoreLock(old).acquire().release()
        except (StoreLockedError, OSError):
            continue  # another merge is building it now
        shutil.rmtree(old, ignore_errors=True)
    tmp = parent / f".{out.name}.merge-{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    return tmp


def _rename_into_place(tmp: Path, out: Path) -> None:
    from audiotok.store.files import fsync_dir

    try:
        os.rename(tmp, out)  # replaces an empty folder; refuses a non-empty one
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise AudiotokError(
                f"{out} was filled by another process while this merge ran; nothing was "
                "written: merge again"
            ) from None
        raise
    fsync_dir(out.absolute().parent)


def _writer(first: R.Record, out: Path, *, overwrite: bool, run: dict[str, Any], root: Any,
            warn: Warn | None) -> Any:  # fmt: skip
    from audiotok.recipe import recipe_from_dict

    rd = first.data.get("recipe")
    recipe = recipe_from_dict(rd) if rd else None
    if first.format == R.TOKENS:
        from audiotok.spec import TokenSpec
        from audiotok.store.tokens import TokenWriter

        spec = TokenSpec.from_dict(first.data["spec"])
        return TokenWriter(out, spec, recipe=recipe, overwrite=overwrite, run=run,
                           audio_root=root, warn=warn)  # fmt: skip
    from audiotok.store.features import FeatureWriter

    header = {k: v for k, v in first.data["header"].items() if k != "dtype"}
    return FeatureWriter(out, header, recipe=recipe, overwrite=overwrite, run=run,
                         audio_root=root, warn=warn)  # fmt: skip


def _adopt(writer: Any, src: Path, rec: R.Record) -> int:
    """Utterances taken from ``src``. An input new to the output must share no id with it
    (``adopt`` refuses the overlap); one a former merge took (in part, or before the input
    grew: a slice resumed later) gets the shards the output lacks."""
    merged = writer.record.run.setdefault("merged", {})
    key = str(src.resolve())
    if key in merged:
        n = _adopt_rest(writer, src, rec)
    else:
        for entry in rec.shards:  # before the input is listed: an overlap stays refused
            dup = next((i for i in writer.shard_ids_of(src, entry) if i in writer.done_ids), None)
            if dup is not None:
                raise overlap(dup, src, writer.dir)
        merged[key] = "partial"
        writer.commit()
        n = int(writer.adopt(src))
    merged[key] = "done"
    _merge_errors(writer, src, rec)
    return n


def _adopt_rest(writer: Any, src: Path, rec: R.Record) -> int:
    """The shards of ``src`` the output lacks; a shard whose ids are only partly here means
    the stores overlap, which is refused as ``adopt`` refuses it."""
    from audiotok.store.layer import verify_shards

    identity = {k: rec.data[k] for k in writer.identity_keys() if k in rec.data}
    writer.check_identity(writer.record, identity)
    broken = verify_shards(src, rec, checksums=True)
    if broken:
        e, why = broken[0]
        raise CorruptStoreError(f"{src}: shard {e['file']} is broken ({why})")
    n = 0
    for entry in rec.shards:
        ids = writer.shard_ids_of(src, entry)
        here = [i for i in ids if i in writer.done_ids]
        if len(here) == len(ids):
            continue
        if here:
            raise overlap(here[0], src, writer.dir)
        writer.adopt_shard(src, rec, entry, move=False)
        writer.done_ids.update(ids)
        for i in ids:
            writer.clear_error(i)
        writer.commit()
        n += len(ids)
    return n


def _merge_errors(writer: Any, src: Path, rec: R.Record) -> None:
    """The input's failures, their paths re-rooted against the output's audio root."""
    root = rec.audio_root
    for e in rec.errors:
        if e["id"] in writer.done_ids:
            continue
        p = e.get("path", "")
        full = str(Path(root) / p) if root and p and not os.path.isabs(p) else p
        writer.add_error(e["id"], full, e.get("reason", ""))
    writer.commit()
