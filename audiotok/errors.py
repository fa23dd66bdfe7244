"""Exceptions with messages a user can act on. The CLI prints them as one line, no traceback."""

from __future__ import annotations


class AudiotokError(Exception):
    """Base class: a problem the user can fix; the message says how."""


class AudioError(AudiotokError):
    """One input file cannot be used (corrupt, empty, not audio, NaN samples, ...)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class MissingWeightsError(AudiotokError):
    """Pretrained weights are not on this machine."""


class ChecksumError(AudiotokError):
    """A weights file does not have the sha256 its owner published."""


class UnknownModelError(AudiotokError):
    """A model name that is neither in the registry nor a path."""


class SpecMismatchError(AudiotokError):
    """Tokens of one tokenizer would be mixed with tokens of another."""


class UnsafeCheckpointError(AudiotokError):
    """A pickled checkpoint was handed over without the explicit opt-in to unpickle it."""


class StoreLockedError(AudiotokError):
    """Another process is writing the same store."""


class CorruptStoreError(AudiotokError):
    """A store's commit record or a shard is damaged; the message says how to repair it."""


class InvalidTokensError(AudiotokError):
    """Codes handed to a store are not [K, T'] integers within the codebook."""


class ManifestError(AudiotokError):
    """A manifest (.tsv / .jsonl) cannot be used as it is; the message names file and line."""


class DiskFullError(AudiotokError):
    """A write failed because the device holding the output has no space left."""


def write_failed(path: object, detail: str) -> AudiotokError:
    """The error for a write that failed inside a library that gives no errno (libsndfile,
    torch's zip writer): "no space left" when the device is (nearly) full, else the detail."""
    import shutil
    from pathlib import Path

    where = Path(str(path)).absolute().parent
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free: int | None = shutil.disk_usage(where).free
    except OSError:
        free = None
    if free is not None and free < 1 << 20:
        return DiskFullError(
            f"cannot write {path}: no space left on the device (free some space or choose "
            "another output, then rerun the same command)"
        )
    return AudiotokError(f"cannot write {path}: {detail}")


class NotStreamableError(AudiotokError):
    """The model cannot tokenize as a stream with offline-equal output (it is not causal)."""
