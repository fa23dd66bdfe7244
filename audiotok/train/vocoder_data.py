"""Training data of unit vocoders: a token store's units paired with the audio of its rows.

The rows' audio files go through the shared corpus index (:mod:`audiotok.train.corpus`: the
pipeline's decode workers, a file that fails reported by name and skipped) with the store's
units as the per-frame array: unit ``j`` pairs with samples ``[j * hop, (j + 1) * hop)``, each
utterance keeps ``n = min(frames, samples // hop)`` frames (audio trimmed to ``n * hop``, or
units trimmed when the audio is shorter). The cache in ``OUT/data/`` is reused on
``--resume`` while the store's units are unchanged.

Speakers (``speakers="from-path-prefix"``): the first path component of the utterance id
(``spk/utt`` -> ``spk``), a common corpus layout (LibriSpeech ``spk/chapter/utt``, VCTK
``p225/...``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.train.corpus import CorpusIndex, build_index

SPEAKER_MODES = ("none", "from-path-prefix")


def _audio_path(store: Any, row: dict[str, Any]) -> str:
    """The source audio of a store row (``audio_path``: the reader resolves it through the
    store's record, for stores of every version)."""
    path = row.get("audio_path")
    if not path:
        raise AudiotokError(f"{store.dir} gives no audio path for {row['id']!r}: re-encode it")
    return str(path)


def unit_index(
    store: Any,
    cache_dir: Path,
    sample_rate: int,
    hop: int,
    *,
    options: Any = None,
    on_error: Callable[[Any, str], None] | None = None,
) -> CorpusIndex:
    """The corpus index of ``store``'s rows with their units (see the module docstring)."""
    from audiotok.corpus import AudioItem

    units: dict[str, np.ndarray] = {}
    items, digest = [], hashlib.sha256()
    for row in store.rows():
        codes = np.ascontiguousarray(np.asarray(row["codes"]).reshape(-1), dtype=np.int32)
        digest.update(row["id"].encode() + b"\0" + codes.tobytes())
        units[row["id"]] = codes
        path = _audio_path(store, row)
        items.append(AudioItem(id=row["id"], path=path, rel=row["id"]))
    key = {"store": str(Path(store.dir).resolve()), "units_sha256": digest.hexdigest()}

    def frame_data(item: Any, audio_frames: int) -> np.ndarray:
        codes = units[item.id]
        return codes[: min(len(codes), audio_frames)]

    try:
        return build_index(items, cache_dir, sample_rate=sample_rate, hop=hop, kind="units",
                           dim=0, key=key, frame_data=frame_data, options=options,
                           on_error=on_error)  # fmt: skip
    except AudiotokError as e:
        if str(e).startswith("no input gave audio"):
            raise AudiotokError(
                f"{store.dir} holds no utterance with audio of at least one unit"
            ) from None
        raise


def speakers_of(ids: list[str], mode: str) -> tuple[list[str], np.ndarray]:
    """(speaker names, index of each id's speaker, -1 for none)."""
    if mode not in SPEAKER_MODES:
        raise AudiotokError(f"unknown --speakers {mode!r}: use {' or '.join(SPEAKER_MODES)}")
    if mode == "none":
        return [], np.full(len(ids), -1, dtype=np.int64)
    spk = []
    for utt in ids:
        if "/" not in utt:
            raise AudiotokError(
                f"--speakers from-path-prefix takes the speaker from the first folder of each "
                f"id, but {utt!r} has none: lay the corpus out as speaker/utterance or use "
                "--speakers none"
            )
        spk.append(utt.split("/", 1)[0])
    names = sorted(set(spk))
    return names, np.array([names.index(s) for s in spk], dtype=np.int64)
