"""Training data for unit vocoders: units from a token store, audio from the rows' files.

Alignment is exact at the unit hop (``hop = sample_rate / frame_rate``): unit ``j`` pairs
with samples ``[j * hop, (j + 1) * hop)``; each utterance keeps ``n = min(frames, samples //
hop)`` frames (audio trimmed to ``n * hop``, or units trimmed when the audio is shorter).

The audio is decoded and resampled once into a cache in the output folder (``data/``:
``audio.i16``, 16-bit samples memory-mapped by the loader workers, ``units.npy``,
``index.json``), reused on ``--resume`` while the store is unchanged. A seeded fraction of the
utterances (chosen by a hash of seed and id, so independent of order) is held out for
evaluation; training draws random segments of ``segment_frames`` frames from the rest.
Speakers (``speakers="from-path-prefix"``): the first path component of the utterance id
(``spk/utt`` -> ``spk``), a common corpus layout (LibriSpeech ``spk/chapter/utt``, VCTK
``p225/...``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from audiotok.errors import AudiotokError

SPEAKER_MODES = ("none", "from-path-prefix")
CACHE_VERSION = 1


def _audio_path(store: Any, row: dict[str, Any]) -> Path:
    """The source audio of a store row (``audio_path``: the reader resolves it through the
    store's record, for stores of every version)."""
    path = row.get("audio_path")
    if not path:
        raise AudiotokError(f"{store.dir} gives no audio path for {row['id']!r}: re-encode it")
    return Path(path)


def _split_key(seed: int, utt: str) -> float:
    h = hashlib.sha256(f"{seed}:{utt}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


@dataclass
class CorpusIndex:
    ids: list[str]
    frames: np.ndarray  # [N] kept frames per utterance
    unit_offsets: np.ndarray  # [N] into units
    audio_offsets: np.ndarray  # [N] into audio (samples)
    speakers: list[str]  # names, index = speaker id
    speaker_of: np.ndarray  # [N] speaker index (-1: none)
    units: np.ndarray  # all units, concatenated
    audio_file: Path
    hop: int

    def units_of(self, i: int) -> np.ndarray:
        o = int(self.unit_offsets[i])
        return self.units[o : o + int(self.frames[i])]

    def audio_of(self, i: int, mm: np.ndarray | None = None) -> np.ndarray:
        mm = mm if mm is not None else self.memmap()
        o = int(self.audio_offsets[i])
        return mm[o : o + int(self.frames[i]) * self.hop].astype(np.float32) / 32768.0

    def memmap(self) -> np.ndarray:
        return np.memmap(self.audio_file, dtype=np.int16, mode="r")

    def split(self, seed: int, fraction: float, max_items: int) -> tuple[list[int], list[int]]:
        """(train, held-out) indices; at least one utterance is held out."""
        keys = np.array([_split_key(seed, u) for u in self.ids])
        order = np.argsort(keys, kind="stable")
        n_valid = min(max_items, max(1, int(round(fraction * len(self.ids)))))
        if len(self.ids) < 2:
            raise AudiotokError("training a vocoder needs at least 2 utterances (1 held out)")
        valid = sorted(order[:n_valid].tolist())
        train = sorted(order[n_valid:].tolist())
        return train, valid


def _speaker(utt: str, mode: str) -> str | None:
    if mode == "none":
        return None
    if "/" not in utt:
        raise AudiotokError(
            f"--speakers from-path-prefix takes the speaker from the first folder of each id, "
            f"but {utt!r} has none: lay the corpus out as speaker/utterance or use --speakers none"
        )
    return utt.split("/", 1)[0]


def build_index(
    store: Any, cache_dir: Path, sample_rate: int, hop: int, speakers: str
) -> CorpusIndex:
    """Read (or reuse) the cache for ``store``; see the module docstring."""
    from audiotok import audio

    if speakers not in SPEAKER_MODES:
        raise AudiotokError(f"unknown --speakers {speakers!r}: use {' or '.join(SPEAKER_MODES)}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    rows, digest = [], hashlib.sha256()
    for row in store.rows():
        codes = np.ascontiguousarray(np.asarray(row["codes"]).reshape(-1), dtype=np.int32)
        digest.update(row["id"].encode() + b"\0" + codes.tobytes())
        rows.append((row, codes))
    key = {
        "version": CACHE_VERSION,
        "store": str(Path(store.dir).resolve()),
        "units_sha256": digest.hexdigest(),
        "sample_rate": sample_rate,
        "hop": hop,
    }
    index_file = cache_dir / "index.json"
    if index_file.is_file():
        saved = json.loads(index_file.read_text())
        if saved.get("key") == key and (cache_dir / "audio.i16").is_file():
            return _load_index(cache_dir, saved, hop, speakers)
    ids, frames, chunks, units = [], [], [], []
    offset = 0
    tmp = cache_dir / "audio.i16.tmp"
    with open(tmp, "wb") as f:
        for row, codes in rows:
            wav = audio.read(str(_audio_path(store, row)), sample_rate)
            n = min(len(codes), len(wav) // hop)
            if n <= 0:
                continue
            pcm = np.clip(np.round(wav[: n * hop] * 32768.0), -32768, 32767).astype(np.int16)
            f.write(pcm.tobytes())
            ids.append(row["id"])
            frames.append(n)
            chunks.append(offset)
            units.append(codes[:n])
            offset += n * hop
    tmp.replace(cache_dir / "audio.i16")
    if not ids:
        raise AudiotokError(f"{store.dir} holds no utterance with audio of at least one unit")
    np.save(cache_dir / "units.npy", np.concatenate(units))
    saved = {"key": key, "ids": ids, "frames": frames, "audio_offsets": chunks}
    index_file.write_text(json.dumps(saved))
    return _load_index(cache_dir, saved, hop, speakers)


def _load_index(cache_dir: Path, saved: dict[str, Any], hop: int, mode: str) -> CorpusIndex:
    frames = np.asarray(saved["frames"], dtype=np.int64)
    spk = [_speaker(u, mode) for u in saved["ids"]]
    names = sorted({s for s in spk if s is not None})
    return CorpusIndex(
        ids=list(saved["ids"]),
        frames=frames,
        unit_offsets=np.concatenate([[0], np.cumsum(frames)[:-1]]).astype(np.int64),
        audio_offsets=np.asarray(saved["audio_offsets"], dtype=np.int64),
        speakers=names,
        speaker_of=np.array([names.index(s) if s is not None else -1 for s in spk]),
        units=np.load(cache_dir / "units.npy"),
        audio_file=cache_dir / "audio.i16",
        hop=hop,
    )


class SegmentDataset(Dataset):
    """Random segments: item ``(epoch, i)`` -> units [N], audio [N * hop], speaker index,
    with the offset drawn from ``numpy.random.default_rng((seed, epoch, i))``."""

    def __init__(self, index: CorpusIndex, items: list[int], segment_frames: int, seed: int):
        self.index, self.segment, self.seed = index, segment_frames, seed
        self.items = [i for i in items if index.frames[i] >= segment_frames]
        self.skipped = len(items) - len(self.items)
        self._mm: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        epoch, i = key
        utt = self.items[i]
        rng = np.random.default_rng((self.seed, epoch, i))
        start = int(rng.integers(0, int(self.index.frames[utt]) - self.segment + 1))
        if self._mm is None:
            self._mm = self.index.memmap()
        hop = self.index.hop
        u0 = int(self.index.unit_offsets[utt]) + start
        a0 = int(self.index.audio_offsets[utt]) + start * hop
        return {
            "units": torch.from_numpy(self.index.units[u0 : u0 + self.segment].astype(np.int64)),
            "audio": torch.from_numpy(
                self._mm[a0 : a0 + self.segment * hop].astype(np.float32) / 32768.0
            ),
            "speaker": int(self.index.speaker_of[utt]),
        }


def collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    return {
        "units": torch.stack([it["units"] for it in items]),
        "audio": torch.stack([it["audio"] for it in items])[:, None],
        "speaker": torch.tensor([it["speaker"] for it in items], dtype=torch.long),
    }
