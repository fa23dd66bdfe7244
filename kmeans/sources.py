"""What k-means reads, chosen once for ``kmeans train`` and ``kmeans eval`` (and any caller).

:func:`open_source` decides between features on disk (``features.open_features``: an
``audiotok extract`` folder, a fairseq dump, a ``.npy``) and audio run through an extractor
(``audio_source``). The rule: with ``model`` the inputs are audio. Without it, one input
that *looks like* features (:func:`is_feature_path`: a ``.npy`` file, or a folder holding a
store record or ``.npy`` files) is opened as features, and any error it raises (a damaged
store, a ``.len`` that does not match its ``.npy``, several splits) is the user's answer,
never hidden by trying the input as audio. Anything else is audio, through the extractor the
caller names or, for evaluation, the one the codebook names.

``source.sample(...)`` draws the training sample that fits the memory budget
(``sampling.budget``); ``source.utterances()`` yields ``(id, [T, D] float32)`` for evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.kmeans.audio_source import feature_info, load_extractor, sample_audio
from audiotok.kmeans.codebook import Codebook
from audiotok.kmeans.features import STORE_RECORDS, FeatureInfo
from audiotok.kmeans.sampling import Sample


def is_feature_path(path: str | Path) -> bool:
    """True for inputs that can only be features: ``.npy`` files, and folders that hold a
    store record or ``.npy`` files. Audio corpora and manifests are False."""
    p = Path(path)
    if p.is_file():
        return p.suffix == ".npy"
    if p.is_dir():
        return any((p / r).is_file() for r in STORE_RECORDS) or any(p.glob("*.npy"))
    return False


@dataclass
class TrainingSample:
    sample: Sample
    info: FeatureInfo
    notes: list[str] = field(default_factory=list)  # what was drawn, for the user


@dataclass
class FeatureSource:
    """Features on disk (memory-mapped ``features.ArraySource``)."""

    source: Any

    kind = "features"

    @property
    def info(self) -> FeatureInfo:
        return self.source.info  # type: ignore[no-any-return]

    def sample(
        self, *, max_memory_gb: float, max_hours: float | None = None, seed: int = 0
    ) -> TrainingSample:
        from audiotok.kmeans.sampling import budget, describe_budget, sample

        info = self.info
        max_frames = budget(
            max_memory_gb, info.dim, max_hours=max_hours, frame_rate=info.frame_rate
        )
        smp = sample(self.source, max_frames=max_frames, seed=seed)
        notes = [
            describe_budget(max_frames, info.dim, max_memory_gb),
            f"sampled {len(smp.feats)} frames ({smp.nbytes / 1e9:.3g} GB) of "
            f"{smp.total_frames} frames",
        ]
        return TrainingSample(smp, info, notes)

    def utterances(self) -> Iterator[tuple[str | None, np.ndarray]]:
        from audiotok.kmeans.evaluate import iter_source

        return iter_source(self.source)

    def audio_paths(self) -> dict[str, Path]:
        """Utterance id -> audio file, where the features say (stores, fairseq manifests)."""
        return dict(getattr(self.source, "audio", None) or {})


@dataclass
class AudioSource:
    """Audio files run through a feature extractor, only for what is read."""

    inputs: list[str]
    extractor: Any

    kind = "audio"

    @property
    def info(self) -> FeatureInfo:
        return feature_info(self.extractor)

    def sample(
        self, *, max_memory_gb: float, max_hours: float | None = None, seed: int = 0
    ) -> TrainingSample:
        from audiotok.kmeans.sampling import budget, describe_budget

        dim = int(self.extractor.dim)
        max_frames = budget(max_memory_gb, dim)  # max_hours bounds audio time, in sample_audio
        smp, info, _ = sample_audio(
            self.inputs, self.extractor, max_frames=max_frames, max_hours=max_hours, seed=seed
        )
        notes = [
            describe_budget(max_frames, dim, max_memory_gb),
            f"sampled {len(smp.feats)} frames ({smp.nbytes / 1e9:.3g} GB) of "
            f"{smp.total_frames} utterances",
        ]
        return TrainingSample(smp, info, notes)

    def utterances(self) -> Iterator[tuple[str | None, np.ndarray]]:
        from audiotok.kmeans.evaluate import iter_audio

        return iter_audio(self.inputs, self.extractor)

    def audio_paths(self) -> dict[str, Path]:
        from audiotok import corpus

        return {item.id: Path(item.path) for item in corpus.scan(self.inputs)}


Source = FeatureSource | AudioSource


def open_source(
    inputs: Sequence[str | Path],
    *,
    model: str | None = None,
    layer: int | None = None,
    extractor: str | None = None,
    split: str | None = None,
    frame_rate: float | None = None,
    device: str = "auto",
    codebook: Codebook | None = None,
) -> Source:
    """The source k-means reads ``inputs`` from (see the module docstring for the rule).

    ``extractor``/``layer``/``frame_rate`` describe headerless features (fairseq dumps, plain
    arrays); with ``codebook`` (evaluation) they default to what its header says, and audio
    without ``model`` goes through the extractor the codebook names.
    """
    paths = [Path(p) for p in inputs]
    if not paths:
        raise AudiotokError("no inputs given")
    for p in paths:
        if not p.exists():
            raise AudiotokError(f"{p} does not exist")
    meta = codebook.meta if codebook is not None else {}
    if layer is None and (model is None or model == meta.get("extractor")):
        layer = meta.get("layer")  # the codebook's layer, for the codebook's extractor only
    if model is None and len(paths) == 1 and (is_feature_path(paths[0]) or codebook is None):
        from audiotok.kmeans.features import open_features

        return FeatureSource(
            open_features(
                paths[0],
                split=split,
                extractor=extractor or meta.get("extractor"),
                layer=layer,
                frame_rate=frame_rate or meta.get("frame_rate"),
            )
        )
    if model is None:
        if codebook is None:
            raise AudiotokError(
                "give one features path, or audio with --model NAME (--layer L for S3M models)"
            )
        model = codebook.require_extractor("the codebook")
    from audiotok.tokenizer import resolve_device

    return AudioSource(
        [str(p) for p in paths], load_extractor(model, layer, resolve_device(device))
    )
