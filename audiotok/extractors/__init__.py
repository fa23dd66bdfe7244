"""Feature extractors: MFCC and self-supervised speech models, one contract.

``audiotok.extractors.load(name, layers=[...])`` returns a callable
``(wav[B, T], lengths[B]) -> (feats[B, T', D], frame_lengths[B])``. ``name`` is a registry
name (``hubert-large-ll60k``, ``mfcc``) or a folder in Hugging Face layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok.extractors.base import FeatureExtractor


def load(name: str, **options: Any) -> FeatureExtractor:
    from audiotok import registry
    from audiotok.errors import AudiotokError, UnknownModelError

    try:
        entry = registry.get(name)
    except UnknownModelError:
        p = Path(name).expanduser()
        if not p.exists():
            raise
        from audiotok.extractors.loading import load_s3m

        return load_s3m(None, weights=p, **options)
    if entry.kind != "extractor":
        raise AudiotokError(f"{name!r} is a {entry.kind} model, not a feature extractor")
    return entry.build(**options)


__all__ = ["FeatureExtractor", "load"]
