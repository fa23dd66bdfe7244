"""``audiotok merge``: stores of one tokenizer (or one extractor) into one store.

The output is created with the first input's identity (TokenSpec + recipe, or the feature
header + recipe) and each input is adopted through ``ShardedWriter.adopt``, which checks the
identity, verifies every shard against its sha256 and refuses an utterance id already there
(slices of one corpus are disjoint). Files are hard-linked where the file system allows.

A merge resumes: the output's record lists the inputs it took (``run.merged``); such an input
gets only the shards the output lacks (an interrupted merge, or a slice resumed since), a new
one must share no utterance with the output. Slices of ``--shard i/N`` runs
must come from the same listing of the corpus (their stores record a fingerprint of it): a
union of slices of two listings could miss or repeat files, so it is refused; missing slices
are named in a warning (a merge may go in steps).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, CorruptStoreError
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
    records = [(Path(p), _record(Path(p))) for p in inputs]
    _check_inputs(records, out)
    missing = _check_slices(records)
    if missing and warn:
        warn(f"slices {', '.join(missing)} are not among the inputs (merge them later)")
    first = records[0][1]
    roots = [r.audio_root for _, r in records if r.audio_root]
    root = os.path.commonpath(roots) if roots else None
    run: dict[str, Any] = {}  # the inputs merged so far: run["merged"], kept as the merge goes
    writer = _writer(first, out, overwrite=overwrite, run=run, root=root, warn=warn)
    s = MergeSummary(str(out), first.format, missing_slices=missing)
    try:
        for path, rec in records:
            n = _adopt(writer, path, rec)
            if n == 0 and rec.num_utterances:
                s.skipped.append(str(path))
            else:
                s.adopted[str(path)] = n
    finally:
        writer.close()
    s.utterances = writer.record.num_utterances
    s.errors = len(writer.record.errors)
    return s


def _record(p: Path) -> R.Record:
    if not p.is_dir():
        raise AudiotokError(f"{p} is not a folder (merge takes store folders)")
    rec = R.read(p)
    if rec is None:
        raise AudiotokError(f"{p} is not an audiotok store (no {R.RECORD})")
    _check_shard_names(p, rec)
    return rec


def _check_shard_names(p: Path, rec: R.Record) -> None:
    """Shard file names come from the input's record: each must be a file inside the input
    (adopting reads them there and writes names derived from them into the output)."""
    from audiotok.safe_paths import check_relative

    for s in rec.shards:
        check_relative(s["file"], f"{p}: shard")
        files = s.get("files") or ()
        for name in files if isinstance(files, (dict, list, tuple)) else [files]:
            check_relative(name, f"{p}: shard file")


def _check_inputs(records: list[tuple[Path, R.Record]], out: Path) -> None:
    seen: set[Path] = set()
    for p, rec in records:
        real = p.resolve()
        if out.exists() and real == out.resolve():
            raise AudiotokError(f"{p} is the output itself: merge into another folder")
        if real in seen:
            raise AudiotokError(f"{p} is given twice")
        seen.add(real)
        if rec.format != records[0][1].format:
            raise AudiotokError(
                f"{p} holds {rec.format}, {records[0][0]} {records[0][1].format}: a merge takes "
                "stores of one kind"
            )


def _check_slices(records: list[tuple[Path, R.Record]]) -> list[str]:
    """Slices must share a listing; returns the slices of that listing not among the inputs."""
    sliced = [(p, r.run) for p, r in records if "shard" in r.run]
    if not sliced:
        return []

    def cut(run: dict[str, Any]) -> tuple[str, str]:
        return str(run.get("shard_of", {}).get("fingerprint")), str(run["shard"]).split("/")[1]

    a = sliced[0]
    b = next((x for x in sliced if cut(x[1]) != cut(a[1])), None)
    if b is not None:
        raise AudiotokError(
            f"{a[0]} (slice {a[1]['shard']}) and {b[0]} (slice {b[1]['shard']}) were cut from "
            "different listings of the corpus (other files, lengths or slice counts), so "
            "together they could miss or repeat files; run every slice on the same corpus "
            "with the same N"
        )
    n = int(cut(a[1])[1])
    have = {int(str(run["shard"]).split("/")[0]) for _, run in sliced}
    return [f"{i}/{n}" for i in range(n) if i not in have]


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
                raise _overlap(dup, src, writer.dir)
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
            raise _overlap(here[0], src, writer.dir)
        writer.adopt_shard(src, rec, entry, move=False)
        writer.done_ids.update(ids)
        for i in ids:
            writer.clear_error(i)
        writer.commit()
        n += len(ids)
    return n


def _overlap(utt: str, src: Path, out: Path) -> AudiotokError:
    return AudiotokError(
        f"utterance {utt!r} of {src} is already in {out}: the stores overlap (slices of one "
        "corpus must be disjoint)"
    )


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
