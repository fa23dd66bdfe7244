"""manifest.json of a token store: the spec, the run, the committed shards, the errors.

The manifest is the store's commit record: a shard counts once the manifest lists it.
Both are replaced atomically (write to a temporary name, fsync, rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiotok.spec import TokenSpec

MANIFEST = "manifest.json"
FORMAT = "audiotok-tokens"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    spec: TokenSpec
    shards: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)

    @property
    def num_utterances(self) -> int:
        return sum(s["num_utterances"] for s in self.shards)

    @property
    def duration_s(self) -> float:
        return sum(s["duration_s"] for s in self.shards)

    @property
    def num_frames(self) -> int:
        return sum(s["num_frames"] for s in self.shards)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "spec": self.spec.to_dict(),
            "num_utterances": self.num_utterances,
            "duration_s": round(self.duration_s, 6),
            "num_frames": self.num_frames,
            "num_errors": len(self.errors),
            "shards": self.shards,
            "errors": self.errors,
            "run": self.run,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        return cls(
            TokenSpec.from_dict(d["spec"]),
            d.get("shards", []),
            d.get("errors", []),
            d.get("run", {}),
        )


def read(directory: str | Path) -> Manifest | None:
    p = Path(directory) / MANIFEST
    if not p.is_file():
        return None
    d = json.loads(p.read_text())
    if d.get("format") != FORMAT:
        from audiotok.errors import AudiotokError

        raise AudiotokError(f"{p} is not an audiotok token store manifest")
    return Manifest.from_dict(d)


def write(directory: str | Path, manifest: Manifest) -> None:
    atomic_write_bytes(
        Path(directory) / MANIFEST, json.dumps(manifest.to_dict(), indent=1).encode()
    )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
