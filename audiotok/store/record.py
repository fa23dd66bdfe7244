"""The commit record of a store (``.manifest.json``): what the store is and which shards count.

A shard exists for readers only once the record lists it; the record is replaced atomically.
The name is hidden (a leading dot) so that pandas, pyarrow datasets, DuckDB globs and
Hugging Face ``datasets`` read the store folder as a folder of Parquet files: pyarrow skips
names starting with ``.`` or ``_``, ``datasets`` only hidden ones. Stores of audiotok 0.1
named it ``manifest.json`` (format 1); they are read as they are and upgraded when written to.

Fields: ``format`` (``audiotok-tokens`` | ``audiotok-features``), ``format_version``,
``audiotok_version``, the payload's identity (``spec`` + ``recipe`` for tokens, ``header`` for
features), ``audio_root`` (rows' ``path`` resolve against it), ``shards`` (per shard: files
with size and sha256, utterance, frame and second counts), ``errors`` (by id), ``run``, and
totals. Fields this version does not know are kept as they are when the record is rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError, CorruptStoreError
from audiotok.store.files import atomic_write_bytes

RECORD = ".manifest.json"
LEGACY_RECORD = "manifest.json"
FORMAT_VERSION = 2
TOKENS = "audiotok-tokens"
FEATURES = "audiotok-features"


class Record:
    """A commit record: a dict whose known fields have accessors; unknown fields survive."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        data.setdefault("shards", [])
        data.setdefault("errors", [])
        data.setdefault("run", {})

    @property
    def format(self) -> str:
        return str(self.data.get("format", ""))

    @property
    def format_version(self) -> int:
        return int(self.data.get("format_version", 1))

    @property
    def shards(self) -> list[dict[str, Any]]:
        return self.data["shards"]

    @property
    def errors(self) -> list[dict[str, str]]:
        return self.data["errors"]

    @errors.setter
    def errors(self, value: list[dict[str, str]]) -> None:
        self.data["errors"] = value

    @property
    def run(self) -> dict[str, Any]:
        return self.data["run"]

    @run.setter
    def run(self, value: dict[str, Any]) -> None:
        self.data["run"] = value

    @property
    def audio_root(self) -> str | None:
        return self.data.get("audio_root")

    @property
    def num_utterances(self) -> int:
        return sum(int(s["num_utterances"]) for s in self.shards)

    @property
    def duration_s(self) -> float:
        return sum(float(s.get("duration_s", 0.0)) for s in self.shards)

    @property
    def num_frames(self) -> int:
        return sum(int(s.get("num_frames", 0)) for s in self.shards)

    def to_json(self) -> bytes:
        from audiotok import __version__

        d = dict(self.data)
        d["num_utterances"] = self.num_utterances
        d["duration_s"] = round(self.duration_s, 6)
        d["num_frames"] = self.num_frames
        d["num_errors"] = len(self.errors)
        d["audiotok_version"] = __version__
        return json.dumps(d, indent=1).encode()


def path_of(directory: Path) -> Path | None:
    for name in (RECORD, LEGACY_RECORD):
        if (directory / name).is_file():
            return directory / name
    return None


def read(directory: str | Path) -> Record | None:
    """The record of a store folder, None when there is none; CorruptStoreError when damaged."""
    d = Path(directory)
    p = path_of(d)
    if p is None:
        return None
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise AudiotokError(f"cannot read {p}: {e.strerror or e}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise CorruptStoreError(damaged(p, f"not valid JSON ({_short(e)})")) from None
    if not isinstance(data, dict):
        raise CorruptStoreError(damaged(p, f"a JSON {type(data).__name__}, not an object"))
    if p.name == LEGACY_RECORD:
        data = _from_legacy(p, data)
    _check_shape(p, data)
    return Record(data)


def write(directory: Path, record: Record) -> None:
    atomic_write_bytes(directory / RECORD, record.to_json())


def damaged(p: Path, why: str) -> str:
    return (
        f"{p} is damaged: {why}. The store's shards cannot be trusted without it: start the "
        f"store again with the same command plus --overwrite (removes only the store's files)"
    )


def _from_legacy(p: Path, data: dict[str, Any]) -> dict[str, Any]:
    """audiotok 0.1's manifest.json: token stores had ``format``; feature stores had none."""
    if data.get("format") == TOKENS:
        return {**data, "format_version": 1}
    if "layers" in data and "extractor" in data:
        header = {k: data[k] for k in data if k not in ("shards", "errors", "run")}
        shards = [
            {"file": f"{s['name']}.tsv", "name": s["name"], "num_utterances": s["num_utts"],
             "num_frames": s["num_frames"]}
            for s in data.get("shards", [])
            if isinstance(s, dict) and "name" in s
        ]  # fmt: skip
        return {
            "format": FEATURES,
            "format_version": 1,
            "header": header,
            "shards": shards,
            "errors": data.get("errors", []),
            "run": data.get("run", {}),
        }
    raise AudiotokError(f"{p} is not the manifest of an audiotok store")


def _check_shape(p: Path, d: dict[str, Any]) -> None:
    fmt = d.get("format")
    if fmt not in (TOKENS, FEATURES):
        raise AudiotokError(f"{p} is not the commit record of an audiotok store (format {fmt!r})")
    need = "spec" if fmt == TOKENS else "header"
    problems = []
    if not isinstance(d.get(need), dict):
        problems.append(f"'{need}' is missing")
    if not isinstance(d.get("shards", []), list) or not all(
        isinstance(s, dict) and "file" in s and "num_utterances" in s for s in d.get("shards", [])
    ):
        problems.append("'shards' is not a list of shard entries")
    if not isinstance(d.get("errors", []), list):
        problems.append("'errors' is not a list")
    if not isinstance(d.get("format_version", 1), int):
        problems.append("'format_version' is not an integer")
    if problems:
        raise CorruptStoreError(damaged(p, "; ".join(problems)))


def _short(e: Exception) -> str:
    return " ".join(str(e).split())[:120] or type(e).__name__
