"""The corpus index of every trainer: audio decoded once, a per-frame array beside it.

:func:`build_index` sends the items through the pipeline's decode workers
(:func:`audiotok.pipeline.local.stream`: worker processes decode, downmix and resample; a file
that fails is reported by name to ``on_error`` and skipped, or stops the run under
``RunOptions(strict=True)``) and writes a cache folder:

- ``audio.i16``: 16-bit samples at the trainer's sample rate, all files concatenated;
- ``frames.<kind>``: the per-frame array the trainer pairs with the audio (the vocoder's units,
  ``int32 [sum of frames]``; the hybrid codec's aligned teacher features, ``float16 [sum of
  frames, D]``), given by the trainer's ``frame_data(item, audio_frames)``;
- ``index.json``: ids, frames and offsets, and the ``key`` the cache was built for (the
  trainer's fingerprint of its inputs, the rate and the hop): a cache whose key matches is
  reused (``--resume``, other ranks), any other is rebuilt.

Alignment is exact at the hop: frame ``j`` pairs with samples ``[j * hop, (j + 1) * hop)``;
a file keeps the frames ``frame_data`` returns (at most ``len(audio) // hop``) and ``frames
* hop`` samples. :meth:`CorpusIndex.split` holds out a seeded share of the files (chosen by a
hash of seed and id, so independent of order and of other files).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiotok.errors import AudiotokError

CACHE_VERSION = 2
DTYPES = {"units": np.int32, "features": np.float16}


class _AudioFn:
    """The pipeline's batch function that returns the decoded audio itself ([1, T])."""

    batch_exact = True

    def __init__(self, sample_rate: int, hop: int):
        self.sample_rate, self.hop = sample_rate, hop

    def num_frames(self, num_samples: int) -> int:
        return int(num_samples) // self.hop

    def __call__(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.asarray(w, dtype=np.float32)[None] for w in waves]


@dataclass
class CorpusIndex:
    ids: list[str]
    frames: np.ndarray  # [N] frames kept per file
    audio_offsets: np.ndarray  # [N] into audio.i16 (samples)
    frame_offsets: np.ndarray  # [N] into frames.<kind> (frames)
    kind: str  # "units" or "features"
    dim: int  # feature size (0 for units)
    hop: int
    sample_rate: int
    cache_dir: Path
    key: dict[str, Any]

    def audio_memmap(self) -> np.ndarray:
        # copy-on-write: writable views for torch.from_numpy, the file is never changed
        return np.memmap(self.cache_dir / "audio.i16", dtype=np.int16, mode="c")

    def frames_memmap(self) -> np.ndarray:
        n = int(self.frames.sum())
        shape = (n, self.dim) if self.kind == "features" else (n,)
        return np.memmap(
            self.cache_dir / f"frames.{self.kind}", dtype=DTYPES[self.kind], mode="c", shape=shape
        )

    def file(
        self, i: int, audio: np.ndarray | None = None, frames: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """File i: (audio int16 ``[n * hop]``, its per-frame array ``[n(, D)]``) as views."""
        audio = audio if audio is not None else self.audio_memmap()
        frames = frames if frames is not None else self.frames_memmap()
        n, a, f = int(self.frames[i]), int(self.audio_offsets[i]), int(self.frame_offsets[i])
        return (
            torch.from_numpy(audio[a : a + n * self.hop]),
            torch.from_numpy(frames[f : f + n]),
        )

    def split(
        self, seed: int, fraction: float, max_items: int, what: str = "files"
    ) -> tuple[list[int], list[int]]:
        """(train, held-out) indices; at least one file is held out."""
        if len(self.ids) < 2:
            raise AudiotokError(f"training needs at least 2 {what} (1 held out)")
        keys = [hashlib.sha256(f"{seed}:{u}".encode()).digest()[:8] for u in self.ids]
        order = sorted(range(len(self.ids)), key=lambda i: keys[i])
        n_valid = min(max_items, max(1, int(round(fraction * len(self.ids)))))
        return sorted(order[n_valid:]), sorted(order[:n_valid])


def build_index(
    items: Sequence[Any],
    cache_dir: Path,
    *,
    sample_rate: int,
    hop: int,
    kind: str,
    dim: int,
    key: dict[str, Any],
    frame_data: Callable[[Any, int], np.ndarray],
    options: Any = None,
    on_error: Callable[[Any, str], None] | None = None,
) -> CorpusIndex:
    """The cache of the module docstring for ``items`` (``AudioItem``: id, path), reused when
    its ``key`` matches. ``frame_data(item, audio_frames)`` returns the file's per-frame array,
    at most ``audio_frames`` long (an empty one leaves the file out)."""
    from audiotok.pipeline.local import Events, stream

    if kind not in DTYPES:
        raise ValueError(f"kind must be one of {sorted(DTYPES)}, got {kind!r}")
    key = json.loads(
        json.dumps(
            {
                "version": CACHE_VERSION,
                "sample_rate": sample_rate,
                "hop": hop,
                "kind": kind,
                "dim": dim,
                **key,
            }
        )  # fmt: skip
    )
    index_file = cache_dir / "index.json"
    if index_file.is_file():
        saved = json.loads(index_file.read_text())
        if saved.get("key") == key and (cache_dir / "audio.i16").is_file():
            return load_index(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    frames: list[int] = []
    tmp_a, tmp_f = cache_dir / "audio.i16.tmp", cache_dir / f"frames.{kind}.tmp"
    fn = _AudioFn(sample_rate, hop)
    todo = sorted(items, key=lambda it: it.id)
    with open(tmp_a, "wb") as fa, open(tmp_f, "wb") as ff:
        for item, _, arr in stream(
            todo, fn, on_error or (lambda i, r: None), options, Events(on_error=None)
        ):
            wav = arr[0]
            data = np.asarray(frame_data(item, len(wav) // hop))
            n = len(data)
            if n <= 0:
                continue
            if n > len(wav) // hop:
                raise ValueError(f"{item.id}: {n} frames for {len(wav) // hop} of audio")
            pcm = np.clip(np.round(wav[: n * hop] * 32768.0), -32768, 32767).astype(np.int16)
            fa.write(pcm.tobytes())
            ff.write(np.ascontiguousarray(data, dtype=DTYPES[kind]).tobytes())
            ids.append(item.id)
            frames.append(n)
    if not ids:
        tmp_a.unlink()
        tmp_f.unlink()
        raise AudiotokError("no input gave audio of at least one frame")
    tmp_a.replace(cache_dir / "audio.i16")
    tmp_f.replace(cache_dir / f"frames.{kind}")
    offsets = np.concatenate([[0], np.cumsum(np.asarray(frames, dtype=np.int64))[:-1]])
    saved = {
        "key": key,
        "ids": ids,
        "frames": frames,
        "audio_offsets": (offsets * hop).tolist(),
        "frame_offsets": offsets.tolist(),
    }
    index_file.write_text(json.dumps(saved))
    return load_index(cache_dir)


def load_index(cache_dir: Path) -> CorpusIndex:
    """The cache written by :func:`build_index` (what other DDP ranks read)."""
    saved = json.loads((Path(cache_dir) / "index.json").read_text())
    key = saved["key"]
    return CorpusIndex(
        ids=list(saved["ids"]),
        frames=np.asarray(saved["frames"], dtype=np.int64),
        audio_offsets=np.asarray(saved["audio_offsets"], dtype=np.int64),
        frame_offsets=np.asarray(saved["frame_offsets"], dtype=np.int64),
        kind=str(key["kind"]),
        dim=int(key["dim"]),
        hop=int(key["hop"]),
        sample_rate=int(key["sample_rate"]),
        cache_dir=Path(cache_dir),
        key=key,
    )
