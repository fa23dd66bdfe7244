"""Training data of the hybrid-codec trainer: teacher features once, audio once, segments.

1. Teacher features (:func:`extract_teacher`): the corpus goes once through the pipeline core
   (``audiotok.pipeline.extract_corpus``: worker processes decode and resample, failures are
   recorded by id with path and reason) into a feature store in ``OUT/teacher/``, resumable
   like every store. A teacher that averages several layers (``--teacher-layer avg``) is
   stored averaged (:class:`CombinedTeacher`), one ``[T', D]`` array per file, not 13.
2. The cache (:func:`build_index`, ``OUT/data/``): the audio of every file the teacher
   holds, at the student's sample rate, as 16-bit samples (``audio.i16``), and its teacher
   features aligned to the student's frames over the whole file (``teacher.f16``, float16
   ``[sum of frames, D]``, :func:`~audiotok.codecs.speechtokenizer_distill.align_teacher`:
   frame j is teacher frame j at equal rates, linear interpolation in time otherwise). A file
   of T samples keeps ``n = T // hop`` frames and ``n * hop`` samples. Rebuilt only when the
   teacher store, the rates or the hop change.
3. Segments (:class:`SegmentDataset`): ``segment_frames`` student frames from a seeded random
   frame, audio and teacher features cut at the same frame by
   :func:`~audiotok.codecs.speechtokenizer_distill.crop_segment` (along time; the released
   trainer cut its ``[1, T', D]`` features along the batch axis). Files shorter than one
   segment are not trained on (counted in ``skipped``); a seeded share of the files, chosen
   by a hash of seed and id, is held out for evaluation on whole files.
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
from torch.utils.data import Dataset

from audiotok.errors import AudiotokError

CACHE_VERSION = 1


class CombinedTeacher:
    """A multi-layer extractor seen as one output: its combined features (the mean of the
    layers for ``avg``), so the feature store holds ``[T', D]`` per file, not one per layer."""

    layers = None  # one output: the pipeline stores it as ``features/``

    def __init__(self, extractor: Any):
        self.ex = extractor
        self.name = extractor.name
        self.dim = extractor.dim
        self.frame_rate = extractor.frame_rate
        self.sample_rate = extractor.sample_rate
        self.weights_sha256 = extractor.weights_sha256
        self.batch_exact = extractor.batch_exact

    @property
    def device(self) -> Any:
        return self.ex.device

    def num_frames(self, num_samples: int) -> int:
        return int(self.ex.num_frames(num_samples))

    def __call__(self, wav: torch.Tensor, lengths: torch.Tensor) -> Any:
        return self.ex(wav, lengths)


def extract_teacher(
    items: Sequence[Any],
    problems: Sequence[Any],
    extractor: Any,
    recipe: Any,
    out_dir: Path,
    *,
    options: Any = None,
    on_error: Callable[[Any, str], None] | None = None,
) -> Any:
    """Teacher features of ``items`` into the feature store ``out_dir`` (resumes)."""
    from audiotok.pipeline import extract_corpus
    from audiotok.pipeline.local import Events

    ex = (
        CombinedTeacher(extractor)
        if len(getattr(extractor, "layers", None) or ()) > 1
        else extractor
    )
    return extract_corpus(
        items,
        ex,
        out_dir,
        options=options,
        events=Events(on_error=on_error),
        problems=problems,
        recipe=recipe,
    )


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
    frames: np.ndarray  # [N] student frames kept per file
    audio_offsets: np.ndarray  # [N] into audio.i16 (samples)
    teacher_offsets: np.ndarray  # [N] into teacher.f16 (frames)
    dim: int
    hop: int
    sample_rate: int
    cache_dir: Path
    teacher: dict[str, Any]  # name, layer, recipe, sha256, dim, frame_rate

    def audio_memmap(self) -> np.ndarray:
        # copy-on-write: writable views for torch.from_numpy, the file is never changed
        return np.memmap(self.cache_dir / "audio.i16", dtype=np.int16, mode="c")

    def teacher_memmap(self) -> np.ndarray:
        n = int(self.frames.sum())
        return np.memmap(
            self.cache_dir / "teacher.f16", dtype=np.float16, mode="c", shape=(n, self.dim)
        )

    def file(
        self, i: int, audio: np.ndarray | None = None, teacher: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """File i: (audio int16 [n hop], aligned teacher float16 [n, D]) as views."""
        audio = audio if audio is not None else self.audio_memmap()
        teacher = teacher if teacher is not None else self.teacher_memmap()
        n, a, t = int(self.frames[i]), int(self.audio_offsets[i]), int(self.teacher_offsets[i])
        return (
            torch.from_numpy(audio[a : a + n * self.hop]),
            torch.from_numpy(teacher[t : t + n]),
        )

    def split(self, seed: int, fraction: float, max_items: int) -> tuple[list[int], list[int]]:
        """(train, held-out) indices; at least one file is held out."""
        if len(self.ids) < 2:
            raise AudiotokError("training a hybrid codec needs at least 2 files (1 held out)")
        keys = [hashlib.sha256(f"{seed}:{u}".encode()).digest()[:8] for u in self.ids]
        order = sorted(range(len(self.ids)), key=lambda i: keys[i])
        n_valid = min(max_items, max(1, int(round(fraction * len(self.ids)))))
        return sorted(order[n_valid:]), sorted(order[:n_valid])


def _teacher_rows(store: Any) -> dict[str, tuple[np.ndarray, int, int]]:
    """id -> (the shard's memory-mapped array, offset, frames)."""
    rows: dict[str, tuple[np.ndarray, int, int]] = {}
    for ids, lens, arr in store.shards():
        off = 0
        for uid, n in zip(ids, lens, strict=True):
            rows[uid] = (arr, off, int(n))
            off += int(n)
    return rows


def build_index(
    teacher_dir: Path,
    items: Sequence[Any],
    cache_dir: Path,
    *,
    sample_rate: int,
    hop: int,
    teacher: dict[str, Any],
    options: Any = None,
    on_error: Callable[[Any, str], None] | None = None,
) -> CorpusIndex:
    """The cache of the module docstring for the ``items`` that the teacher store holds."""
    from audiotok.codecs.speechtokenizer_distill import align_teacher
    from audiotok.pipeline.local import Events, stream
    from audiotok.store.features import open_features

    store = open_features(teacher_dir)
    rows = _teacher_rows(store)
    todo = sorted((it for it in items if it.id in rows), key=lambda it: it.id)
    if not todo:
        raise AudiotokError(f"the teacher store {teacher_dir} holds no feature of these inputs")
    digest = hashlib.sha256()
    for it in todo:
        arr, off, n = rows[it.id]
        digest.update(f"{it.id}\0{it.path}\0{n}\0".encode())
        digest.update(np.ascontiguousarray(arr[off : off + min(n, 4)]).tobytes())
    key = {
        "version": CACHE_VERSION,
        "teacher_store": str(Path(teacher_dir).resolve()),
        "files_sha256": digest.hexdigest(),
        "sample_rate": sample_rate,
        "hop": hop,
        "teacher": teacher,
    }
    key = json.loads(json.dumps(key))
    index_file = cache_dir / "index.json"
    if index_file.is_file():
        saved = json.loads(index_file.read_text())
        if saved.get("key") == key:
            return load_index(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    dim, t_rate = int(teacher["dim"]), float(teacher["frame_rate"])
    s_rate = sample_rate / hop
    ids: list[str] = []
    frames: list[int] = []
    tmp_a, tmp_t = cache_dir / "audio.i16.tmp", cache_dir / "teacher.f16.tmp"
    fn = _AudioFn(sample_rate, hop)
    with open(tmp_a, "wb") as fa, open(tmp_t, "wb") as ft:
        for item, _, arr in stream(
            todo, fn, on_error or (lambda i, r: None), options, Events(on_error=None)
        ):
            wav = arr[0]
            n = len(wav) // hop
            src, off, n_t = rows[item.id]
            feats = torch.from_numpy(np.asarray(src[off : off + n_t], dtype=np.float32))
            aligned = align_teacher(feats, t_rate, s_rate, n)
            pcm = np.clip(np.round(wav[: n * hop] * 32768.0), -32768, 32767).astype(np.int16)
            fa.write(pcm.tobytes())
            ft.write(aligned.numpy().astype(np.float16).tobytes())
            ids.append(item.id)
            frames.append(n)
    if not ids:
        raise AudiotokError("no input gave audio of at least one student frame")
    tmp_a.replace(cache_dir / "audio.i16")
    tmp_t.replace(cache_dir / "teacher.f16")
    f = np.asarray(frames, dtype=np.int64)
    saved = {
        "key": key,
        "ids": ids,
        "frames": frames,
        "audio_offsets": (np.concatenate([[0], np.cumsum(f)[:-1]]) * hop).tolist(),
        "teacher_offsets": np.concatenate([[0], np.cumsum(f)[:-1]]).tolist(),
        "dim": dim,
    }
    index_file.write_text(json.dumps(saved))
    return load_index(cache_dir)


def load_index(cache_dir: Path) -> CorpusIndex:
    """The cache written by :func:`build_index` (what other DDP ranks read)."""
    saved = json.loads((cache_dir / "index.json").read_text())
    key = saved["key"]
    return CorpusIndex(
        ids=list(saved["ids"]),
        frames=np.asarray(saved["frames"], dtype=np.int64),
        audio_offsets=np.asarray(saved["audio_offsets"], dtype=np.int64),
        teacher_offsets=np.asarray(saved["teacher_offsets"], dtype=np.int64),
        dim=int(saved["dim"]),
        hop=int(key["hop"]),
        sample_rate=int(key["sample_rate"]),
        cache_dir=cache_dir,
        teacher=dict(key["teacher"]),
    )


class SegmentDataset(Dataset):
    """Item ``(epoch, i)`` -> audio float32 [segment_frames * hop] and aligned teacher
    features float32 [segment_frames, D], cut at a frame drawn from
    ``numpy.random.default_rng((seed, epoch, i))``."""

    def __init__(self, index: CorpusIndex, items: list[int], segment_frames: int, seed: int):
        self.index, self.segment, self.seed = index, segment_frames, seed
        self.items = [i for i in items if index.frames[i] >= segment_frames]
        self.skipped = len(items) - len(self.items)
        self._maps: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        from audiotok.codecs.speechtokenizer_distill import crop_segment

        epoch, i = key
        utt = self.items[i]
        rng = np.random.default_rng((self.seed, epoch, i))
        start = int(rng.integers(0, int(self.index.frames[utt]) - self.segment + 1))
        if self._maps is None:
            self._maps = (self.index.audio_memmap(), self.index.teacher_memmap())
        wav, feats = self.index.file(utt, *self._maps)
        wav, feats = crop_segment(wav, feats, start, self.segment, self.index.hop)
        return {"audio": wav.float() / 32768.0, "teacher": feats.float()}


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {
        "audio": torch.stack([it["audio"] for it in items])[:, None],
        "teacher": torch.stack([it["teacher"] for it in items]),
    }
