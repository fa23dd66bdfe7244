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


class NotStreamableError(AudiotokError):
    """The model cannot tokenize as a stream with offline-equal output (it is not causal)."""
