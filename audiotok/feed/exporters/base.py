"""What an export format provides: per-split writers and the files written once at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from audiotok.feed.encoder import Encoded, FeedEncoder

TRAIN, VALID = "train", "valid"


class SplitWriter(Protocol):
    def add(self, utt_id: str, enc: Encoded) -> None: ...

    def close(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Format:
    """``open(out, split, encoder) -> SplitWriter``; ``finish(out, encoder, stats)`` writes
    the files of the whole export (dictionaries, metadata). ``flat``: needs one sequence per
    document (1-D patterns). ``eos``: whether the format wants our EOS at each document end
    (fairseq appends its own)."""

    name: str
    open: Callable[[Path, str, FeedEncoder], SplitWriter]
    flat: bool = True
    eos: bool = True
    finish: Callable[[Path, FeedEncoder, dict[str, dict[str, Any]]], list[str]] | None = None
    check: Callable[[FeedEncoder], None] | None = None
    summary: str = ""


def token_count(enc: Encoded) -> int:
    t = enc.tokens
    if isinstance(t, dict):
        return int(sum(np.asarray(v).size for v in t.values()))
    return int(np.asarray(t).size)


class IdsFile:
    """``<split>.ids`` beside the data: the utterance id of each document, one per line."""

    def __init__(self, path: Path):
        self.f = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def add(self, utt_id: str) -> None:
        if "\n" in utt_id or "\r" in utt_id:
            from audiotok.errors import AudiotokError

            raise AudiotokError(f"utterance id {utt_id!r} holds a line break: rename the file")
        self.f.write(utt_id + "\n")

    def close(self) -> None:
        self.f.close()
