"""Finding the utterances of a corpus: folders, single files, or a manifest (tsv / jsonl).

The utterance id is the path relative to the corpus root without its extension
(``spk1/utt3``); for files given one by one it is the file's stem; a manifest may give ids.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from audiotok.audio import AUDIO_EXTENSIONS
from audiotok.errors import AudiotokError

MANIFEST_SUFFIXES = (".tsv", ".jsonl")


@dataclass(frozen=True)
class AudioItem:
    id: str
    path: str  # absolute
    rel: str  # relative to the corpus root (what the token store records)


def scan(inputs: Iterable[str | os.PathLike]) -> list[AudioItem]:
    """Expand folders, files and manifests into items, sorted by id, ids unique."""
    items: list[AudioItem] = []
    for raw in inputs:
        p = Path(raw).expanduser()
        if not p.exists():
            raise AudiotokError(f"input {p} does not exist")
        if p.is_dir():
            items.extend(_scan_dir(p))
        elif p.suffix.lower() in MANIFEST_SUFFIXES:
            items.extend(read_manifest(p))
        else:
            items.append(AudioItem(p.stem, str(p.resolve()), p.name))
    seen: dict[str, str] = {}
    for it in items:
        if it.id in seen and seen[it.id] != it.path:
            raise AudiotokError(
                f"two inputs have the id {it.id!r}: {seen[it.id]} and {it.path}; "
                "give them distinct names or use a manifest with an id column"
            )
        seen[it.id] = it.path
    unique = {it.id: it for it in items}
    return [unique[k] for k in sorted(unique)]


def _scan_dir(root: Path) -> list[AudioItem]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(AUDIO_EXTENSIONS):
                continue
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            out.append(AudioItem(rel.rsplit(".", 1)[0], str(full.resolve()), rel))
    return out


def read_manifest(path: Path) -> list[AudioItem]:
    """tsv: a header with `path` (and optionally `id`), or headerless `path[<TAB>id]` lines;
    a first line that is a directory is the root of relative paths (fairseq's layout).
    jsonl: objects with `path` (or `audio_filepath`) and optional `id`."""
    base = path.parent
    items = []
    lines = path.read_text().splitlines()
    if path.suffix == ".jsonl":
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                audio = obj.get("path") or obj["audio_filepath"]
            except (ValueError, KeyError, AttributeError):
                raise AudiotokError(f"{path}:{n}: expected a JSON object with 'path'") from None
            items.append(_manifest_item(base, str(audio), obj.get("id")))
        return items
    rows = list(csv.reader(lines, delimiter="\t"))
    if rows and rows[0] and rows[0][0] == "path":
        header = rows[0]
        for r in rows[1:]:
            if r:
                rec = dict(zip(header, r, strict=False))
                items.append(_manifest_item(base, rec["path"], rec.get("id")))
        return items
    if rows and len(rows[0]) == 1 and (base / rows[0][0]).is_dir():
        base, rows = base / rows[0][0], rows[1:]
    for r in rows:
        if r and r[0]:
            ident = r[1] if len(r) > 1 and not r[1].isdigit() else None
            items.append(_manifest_item(base, r[0], ident))
    return items


def _manifest_item(base: Path, audio: str, ident: str | None) -> AudioItem:
    p = Path(audio)
    full = p if p.is_absolute() else base / p
    rel = p.as_posix() if not p.is_absolute() else p.name
    return AudioItem(ident or rel.rsplit(".", 1)[0], str(full.resolve()), rel)
