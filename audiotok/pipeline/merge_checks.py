"""The checks of ``audiotok merge``, all made before anything is written (a refused merge
leaves no store): kinds, identities (the first difference between tokenizers or extractors
is named before ids are compared), slices of one listing, every input shard against its
sha256, and ids (inputs disjoint from each other and from the output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, CorruptStoreError, SpecMismatchError
from audiotok.store import record as R


def input_record(p: Path) -> R.Record:
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


def existing_output(out: Path, overwrite: bool) -> R.Record | None:
    """The output's store when the merge resumes into one (None: a new output)."""
    if overwrite or not out.is_dir():
        return None
    rec = R.read(out)
    if rec is None and any(out.iterdir()):
        stray = sorted(p.name for p in out.iterdir())[0]
        raise AudiotokError(
            f"output {out} is not empty and holds no audiotok store (e.g. {stray}); choose an "
            "empty or new folder"
        )
    return rec


def check_inputs(records: list[tuple[Path, R.Record]], out: Path) -> None:
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


def check_identities(records: list[tuple[Path, R.Record]]) -> None:
    """The first difference between an input's tokenizer (or extractor) and the first one's."""
    from audiotok.recipe import recipe_from_dict

    p0, r0 = records[0]
    for p, r in records[1:]:
        diffs = identity_diffs(r0, r)
        ra, rb = r0.data.get("recipe"), r.data.get("recipe")
        if not diffs and ra and rb:
            diffs = list(recipe_from_dict(ra).diff(recipe_from_dict(rb)))
        if diffs:
            what = "tokenizers" if r0.format == R.TOKENS else "feature extractors"
            raise SpecMismatchError(
                f"{p0} and {p} were made by different {what} ({diffs[0]}); a merge takes "
                f"stores of one {what[:-1]}"
            )


def identity_diffs(a: R.Record, b: R.Record) -> list[str]:
    if a.format == R.TOKENS:
        from audiotok.spec import IDENTITY_FIELDS

        sa, sb = a.data["spec"], b.data["spec"]
        keys: tuple[str, ...] = IDENTITY_FIELDS
    else:
        from audiotok.store.features import HEADER_KEYS

        sa, sb = a.data["header"], b.data["header"]
        keys = HEADER_KEYS
    return [f"{k}: {sa.get(k)!r} != {sb.get(k)!r}" for k in keys if sa.get(k) != sb.get(k)]


def check_slices(records: list[tuple[Path, R.Record]]) -> list[str]:
    """Slices must share a listing; returns the slices of that listing not among the inputs."""
    from audiotok.pipeline.slices import recorded_slice

    sliced = [(p, s) for p, r in records if (s := recorded_slice(r.run)) is not None]
    if not sliced:
        return []

    def cut(sl: dict[str, Any]) -> tuple[str, str]:
        return str(sl["slice_of"].get("fingerprint")), sl["slice"].split("/")[1]

    a = sliced[0]
    b = next((x for x in sliced if cut(x[1]) != cut(a[1])), None)
    if b is not None:
        raise AudiotokError(
            f"{a[0]} (slice {a[1]['slice']}) and {b[0]} (slice {b[1]['slice']}) were cut from "
            "different listings of the corpus (other files, lengths or slice counts), so "
            "together they could miss or repeat files; run every slice on the same corpus "
            "with the same N"
        )
    n = int(cut(a[1])[1])
    have = {int(sl["slice"].split("/")[0]) for _, sl in sliced}
    return [f"{i}/{n}" for i in range(n) if i not in have]


def check_checksums(records: list[tuple[Path, R.Record]]) -> None:
    from audiotok.store.layer import verify_shards

    for p, rec in records:
        broken = verify_shards(p, rec, checksums=True)
        if broken:
            e, why = broken[0]
            raise CorruptStoreError(
                f"{p}: shard {e['file']} is damaged ({why}); nothing was merged: rerun the "
                f"encode command that wrote {p} (it re-encodes the shard), then merge again"
            )


def shard_ids(fmt: str, directory: Path, entry: dict[str, Any]) -> list[str]:
    if fmt == R.TOKENS:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            col = pq.read_table(directory / entry["file"], columns=["id"]).column("id")
        except (OSError, pa.ArrowException) as e:
            raise CorruptStoreError(
                f"{directory / entry['file']} cannot be read ({str(e)[:120]})"
            ) from None
        return [str(x) for x in col.to_pylist()]
    from audiotok.store.features import _read_rows

    return [r[0] for r in _read_rows(directory / entry["file"])]


def check_ids(records: list[tuple[Path, R.Record]], out: Path, existing: R.Record | None) -> None:
    """Inputs share no utterance with each other nor with the output, except the shards an
    earlier merge took from the same input (those are skipped)."""
    fmt = records[0][1].format
    have: set[str] = set()
    merged: dict[str, Any] = {}
    if existing is not None:
        merged = existing.run.get("merged", {})
        for entry in existing.shards:
            have.update(shard_ids(fmt, out, entry))
    taken: dict[str, Path] = {}
    for p, rec in records:
        again = str(p.resolve()) in merged
        for entry in rec.shards:
            ids = shard_ids(fmt, p, entry)
            here = [i for i in ids if i in have]
            if again and len(here) == len(ids):
                continue
            if here:
                raise overlap(here[0], p, out)
            dup = next((i for i in ids if i in taken), None)
            if dup is not None:
                raise AudiotokError(
                    f"utterance {dup!r} is in both {taken[dup]} and {p}: the stores overlap "
                    "(slices of one corpus must be disjoint); nothing was merged"
                )
            taken.update(dict.fromkeys(ids, p))


def overlap(utt: str, src: Path, out: Path) -> AudiotokError:
    return AudiotokError(
        f"utterance {utt!r} of {src} is already in {out}: the stores overlap (slices of one "
        "corpus must be disjoint); nothing was merged"
    )
