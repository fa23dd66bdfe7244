"""Training data of the hybrid-codec trainer: teacher features once, then the corpus index.

1. Teacher features (:func:`extract_teacher`): the corpus goes once through the pipeline core
   (``audiotok.pipeline.extract_corpus``: worker processes decode and resample, failures are
   recorded by id with path and reason) into a feature store in ``OUT/teacher/``, resumable
   like every store. A teacher that averages several layers (``--teacher-layer avg``) is
   stored averaged (:class:`CombinedTeacher`), one ``[T', D]`` array per file, not 13.
2. The corpus index (:func:`teacher_index`, ``OUT/data/``, :mod:`audiotok.train.corpus`): the
   audio of every file the teacher holds, at the student's sample rate, and its teacher
   features aligned to the student's frames over the whole file (float16 ``[sum of frames,
   D]``, :func:`~audiotok.train.distill.align_teacher`: frame j is teacher frame j at equal
   rates, linear interpolation in time otherwise). A file of T samples keeps ``n = T // hop``
   frames and ``n * hop`` samples. Rebuilt only when the teacher store, the rates or the hop
   change.
3. Segments (:mod:`audiotok.train.segments`): ``segment_frames`` student frames from a seeded
   random frame, audio and teacher features cut along time at the same frame (the released
   trainer cut its ``[1, T', D]`` features along the batch axis). Files shorter than one
   segment are not trained on; a seeded share of the files is held out for evaluation on
   whole files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiotok.errors import AudiotokError
from audiotok.train.corpus import CorpusIndex, build_index


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


def _teacher_rows(store: Any) -> dict[str, tuple[np.ndarray, int, int]]:
    """id -> (the shard's memory-mapped array, offset, frames)."""
    rows: dict[str, tuple[np.ndarray, int, int]] = {}
    for ids, lens, arr in store.shards():
        off = 0
        for uid, n in zip(ids, lens, strict=True):
            rows[uid] = (arr, off, int(n))
            off += int(n)
    return rows


def teacher_index(
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
    """The corpus index (:mod:`audiotok.train.corpus`) of the ``items`` that the teacher store
    holds, with their teacher features aligned to the student's frames as the per-frame
    array (``float16 [n, D]``)."""
    from audiotok.store.features import open_features
    from audiotok.train.distill import align_teacher

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
        "teacher_store": str(Path(teacher_dir).resolve()),
        "files_sha256": digest.hexdigest(),
        "teacher": teacher,
    }
    t_rate, s_rate = float(teacher["frame_rate"]), sample_rate / hop

    def frame_data(item: Any, audio_frames: int) -> np.ndarray:
        src, off, n_t = rows[item.id]
        feats = torch.from_numpy(np.asarray(src[off : off + n_t], dtype=np.float32))
        return align_teacher(feats, t_rate, s_rate, audio_frames).numpy()

    return build_index(todo, cache_dir, sample_rate=sample_rate, hop=hop, kind="features",
                       dim=int(teacher["dim"]), key=key, frame_data=frame_data,
                       options=options, on_error=on_error)  # fmt: skip
