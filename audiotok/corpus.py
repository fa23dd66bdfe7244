"""Finding the utterances of a corpus: folders, single files, or a manifest (tsv / jsonl).

The utterance id is the path relative to the corpus root without its extension
(``spk1/utt3``); for files given one by one it is the file's stem; a manifest may give ids.
Ids become output paths (``audiotok decode`` writes ``<out>/<id>.wav``), so an id a manifest
gives must be a safe relative path: not empty, not absolute, no ``..`` or ``.`` or empty
component, no backslash, no control character (NUL included).

Folders are walked following symbolic links, but no real folder is entered twice (a link to
``..`` or a loop of links ends there); what cannot be read (a folder without permission, a
broken or looping file link) is a *problem*: :func:`scan_with_problems` returns them by path.

Manifests (UTF-8; a UTF-8 byte-order mark is allowed):

- ``.jsonl``: one object per line with ``path`` (or ``audio_filepath``) and an optional
  ``id`` (a string, or an integer, which becomes its decimal string).
- ``.tsv`` with a header: the first row names its columns and has a ``path`` column; an
  ``id`` column is optional and may come in any position.
- ``.tsv`` in fairseq's layout: the first row is a single cell naming an existing folder (the
  root of the relative paths that follow); then ``path<TAB>num_samples`` rows, the second
  column a sample count, never an id.
- any other ``.tsv``: headerless ``path[<TAB>id]`` rows; the second column is the id,
  digits included (``a.wav<TAB>17`` has the id ``17``).
"""

from __future__ import annotations

import csv
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiotok.audio import AUDIO_EXTENSIONS
from audiotok.errors import AudiotokError, ManifestError

MANIFEST_SUFFIXES = (".tsv", ".jsonl")
Problem = tuple[str, str]  # (path, reason)


@dataclass(frozen=True)
class AudioItem:
    id: str
    path: str  # absolute
    rel: str  # relative to the corpus root (what the token store records)


def scan(inputs: Iterable[str | os.PathLike]) -> list[AudioItem]:
    """Expand folders, files and manifests into items, sorted by id, ids unique.

    What cannot be read is left out; :func:`scan_with_problems` also says what and why.
    """
    return scan_with_problems(inputs)[0]


def scan_with_problems(
    inputs: Iterable[str | os.PathLike],
) -> tuple[list[AudioItem], list[Problem]]:
    """Like :func:`scan`, and the ``(path, reason)`` of every folder or link that could not be
    read (a caller records each as a failed input). Raises AudiotokError for a missing input,
    a bad manifest or two inputs with one id."""
    items: list[AudioItem] = []
    problems: list[Problem] = []
    for raw in inputs:
        p = Path(raw).expanduser()
        if not p.exists():
            if p.is_symlink():
                raise AudiotokError(f"input {p} is a broken or looping symbolic link")
            raise AudiotokError(f"input {p} does not exist")
        if p.is_dir():
            items.extend(_scan_dir(p, problems))
        elif p.suffix.lower() in MANIFEST_SUFFIXES:
            items.extend(read_manifest(p))
        else:
            items.append(AudioItem(p.stem, os.path.realpath(p), p.name))
    seen: dict[str, str] = {}
    for it in items:
        if it.id in seen and seen[it.id] != it.path:
            raise AudiotokError(
                f"two inputs have the id {it.id!r}: {seen[it.id]} and {it.path}; "
                "give them distinct names or use a manifest with an id column"
            )
        seen[it.id] = it.path
    unique = {it.id: it for it in items}
    return [unique[k] for k in sorted(unique)], problems


def _scan_dir(root: Path, problems: list[Problem]) -> list[AudioItem]:
    """Depth-first, sorted, links followed, each real folder (st_dev, st_ino) entered once."""
    out: list[AudioItem] = []
    st = root.stat()
    visited = {(st.st_dev, st.st_ino)}
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            problems.append((str(folder), f"cannot list the folder: {_reason(e)}"))
            continue
        subdirs: list[tuple[Path, str]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            full = Path(entry.path)
            try:
                est = os.stat(full)  # follows links
            except OSError as e:
                link = entry.is_symlink()
                audio_name = entry.name.lower().endswith(AUDIO_EXTENSIONS)
                if audio_name or (link and "." not in entry.name):
                    problems.append((str(full), _reason(e, link=link)))
                continue
            if stat.S_ISDIR(est.st_mode):
                key = (est.st_dev, est.st_ino)
                if key not in visited:  # a link back up or a second link: entered once
                    visited.add(key)
                    subdirs.append((full, f"{prefix}{entry.name}/"))
            elif entry.name.lower().endswith(AUDIO_EXTENSIONS):
                rel = prefix + entry.name
                out.append(AudioItem(rel.rsplit(".", 1)[0], os.path.realpath(full), rel))
        stack.extend(reversed(subdirs))
    return out


def _reason(e: OSError, link: bool = False) -> str:
    import errno

    if e.errno == errno.ELOOP:
        return "symbolic link loop"
    if link and e.errno == errno.ENOENT:
        return "broken symbolic link (its target does not exist)"
    if isinstance(e, PermissionError):
        return "permission denied"
    return e.strerror or str(e)


def read_manifest(path: Path) -> list[AudioItem]:
    """Items of a ``.tsv`` or ``.jsonl`` manifest (the layouts are in the module docstring)."""
    base = path.parent
    lines = _read_lines(path)
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path, lines)
    rows = [(n, r) for n, r in enumerate(csv.reader(lines, delimiter="\t"), 1) if any(r)]
    items: list[AudioItem] = []
    if rows and "path" in (cell.strip() for cell in rows[0][1]):
        header = [cell.strip() for cell in rows[0][1]]
        ip, iid = header.index("path"), header.index("id") if "id" in header else None
        for n, r in rows[1:]:
            if ip >= len(r) or not r[ip]:
                raise ManifestError(f"{path}:{n}: no value in the 'path' column")
            ident = r[iid] if iid is not None and iid < len(r) and r[iid] else None
            items.append(_manifest_item(base, r[ip], ident, f"{path}:{n}"))
        return items
    if rows and len(rows[0][1]) == 1 and (base / rows[0][1][0]).is_dir():
        base = base / rows[0][1][0]  # fairseq: root line, then path<TAB>num_samples
        for n, r in rows[1:]:
            items.append(_manifest_item(base, r[0], None, f"{path}:{n}"))  # r[1]: a count
        return items
    for n, r in rows:
        ident = r[1] if len(r) > 1 and r[1] else None
        items.append(_manifest_item(base, r[0], ident, f"{path}:{n}"))
    return items


def _read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ManifestError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); save the manifest as "
            "UTF-8"
        ) from None
    return text.splitlines()


def _read_jsonl(path: Path, lines: list[str]) -> list[AudioItem]:
    items = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except ValueError:
            raise ManifestError(f"{where}: not a JSON object") from None
        if not isinstance(obj, dict):
            raise ManifestError(f"{where}: expected a JSON object with 'path'")
        audio = obj.get("path") or obj.get("audio_filepath")
        if not isinstance(audio, str) or not audio:
            raise ManifestError(f"{where}: expected a JSON object with 'path' (a string)")
        items.append(_manifest_item(path.parent, audio, _json_id(obj.get("id"), where), where))
    return items


def _json_id(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ManifestError(
            f"{where}: 'id' must be a string or an integer, not {type(value).__name__} "
            f"({json.dumps(value)[:60]})"
        )
    return str(value)


def check_id(ident: str) -> str | None:
    """Why ``ident`` is not a safe relative path for an output file, or None when it is."""
    if not ident:
        return "is empty"
    if "\\" in ident:
        return "contains a backslash"
    if any(ord(c) < 32 or ord(c) == 127 for c in ident):
        return "contains a control character"
    if ident.startswith("/"):
        return "is an absolute path"
    parts = ident.split("/")
    if ".." in parts:
        return "contains a '..' component"
    if any(part in ("", ".") for part in parts):
        return "contains an empty or '.' component"
    from audiotok.safe_paths import ID_NAME_MAX

    if any(len(part.encode("utf-8", "surrogateescape")) > ID_NAME_MAX for part in parts):
        return f"has a component longer than {ID_NAME_MAX} bytes (file names take 255, with .wav)"
    return None


def _manifest_item(base: Path, audio: str, ident: str | None, where: str) -> AudioItem:
    if not audio.strip():
        raise ManifestError(f"{where}: no audio path")
    if "\x00" in audio:
        raise ManifestError(f"{where}: the audio path contains a NUL character")
    p = Path(audio)
    full = p if p.is_absolute() else base / p
    rel = p.as_posix() if not p.is_absolute() else p.name
    if ident is None:
        # an id made from the path: the relative path without '.', '..' and the extension
        parts = [part for part in Path(rel).parts if part not in (".", "..")]
        if parts and "." in parts[-1]:
            parts[-1] = parts[-1].rsplit(".", 1)[0]
        derived = "/".join(parts)
        if check_id(derived) is not None:
            raise ManifestError(f"{where}: cannot make an id from the path {audio!r}: add an id")
        return AudioItem(derived, os.path.realpath(full), rel)
    why = check_id(ident)
    if why is not None:
        raise ManifestError(
            f"{where}: the id {ident!r} {why}; ids become output paths, so give a relative "
            "path like 'spk1/utt3'"
        )
    return AudioItem(ident, os.path.realpath(full), rel)
