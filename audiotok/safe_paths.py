"""File names that come from data stay inside their folder.

Utterance ids (manifests, stores, unit files) become ``<out>/<id>.wav`` when decoding, and a
store's record names its shard files; someone else's store or manifest can hold any string
there. :func:`child` turns such a name into a path inside a folder, or refuses it in one line:
an absolute path, ``..`` or ``.``, an empty component (``a//b``, a trailing ``/``), a NUL or
a backslash, a component longer than the file system allows, a name that is not text, or a
sub-folder inside the output that is a symbolic link (it would lead the file elsewhere).

The output folder itself is the user's: :func:`output_folder` refuses one that is a symbolic
link, so a writer never follows a link it did not make (name the folder it points to). A link
planted between the check and the write is not guarded against: audiotok checks names, it does
not sandbox a folder that others write into at the same time.
"""

from __future__ import annotations

import os
from pathlib import Path

from audiotok.errors import AudiotokError

NAME_MAX_DEFAULT = 255  # bytes per path component on Linux and macOS file systems
# The longest id component a manifest may give: decoding appends a suffix (".wav") to it.
ID_NAME_MAX = NAME_MAX_DEFAULT - 8


def output_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """``path``, refused if it is a symbolic link (one line naming where it points)."""
    p = Path(path)
    if p.is_symlink():
        raise AudiotokError(
            f"{what} {p} is a symbolic link (to {os.readlink(p)}); audiotok does not write "
            "through links: name the folder itself"
        )
    return p


def problem(name: object, name_max: int = NAME_MAX_DEFAULT) -> str:
    """Why ``name`` cannot be a relative path inside a folder ('' when it can)."""
    if not isinstance(name, str):
        return f"it is {type(name).__name__}, not text"
    if not name:
        return "it is empty"
    if "\x00" in name:
        return "it holds a NUL character"
    if "\\" in name:
        return "it holds a backslash"
    if name.startswith("/"):
        return "it is an absolute path"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "it has an empty, '.' or '..' path component"
        try:
            size = len(os.fsencode(part))
        except UnicodeError:
            return "it cannot be encoded as a file name"
        if size > name_max:
            return f"a component is {size} bytes, more than the file system's {name_max}"
    return ""


def name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system under ``folder`` takes."""
    p = folder
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return int(os.pathconf(p, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return NAME_MAX_DEFAULT


def check_relative(name: object, where: str) -> str:
    """``name`` if it is a safe relative path; else one line naming ``where`` it came from."""
    why = problem(name)
    if why:
        raise AudiotokError(f"{where}: {name!r} cannot name a file inside its folder: {why}")
    return str(name)


def child(root: str | Path, name: str, what: str = "utterance id", suffix: str = "") -> Path:
    """``root/<name><suffix>``, refused unless it is a file inside ``root`` (see the module)."""
    root = output_folder(root)
    full = f"{name}{suffix}" if isinstance(name, str) else name
    why = problem(full, name_max(root))
    if why:
        raise AudiotokError(f"{what} {name!r} cannot name a file inside {root}: {why}")
    path = root
    for part in str(full).split("/"):
        path = path / part
        if path.is_symlink():
            raise AudiotokError(
                f"{what} {name!r} would write through {path}, a symbolic link (to "
                f"{os.readlink(path)}): remove the link or choose another output folder"
            )
        if not path.exists():
            break
    return root / str(full)
