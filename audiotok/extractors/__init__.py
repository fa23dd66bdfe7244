"""Feature extractors: MFCC and self-supervised speech models, one contract.

``audiotok.extractors.load(name, layers=[...])`` returns a callable
``(wav[B, T], lengths[B]) -> (feats[B, T', D], frame_lengths[B])``.
"""

from __future__ import annotations

from typing import Any

from audiotok.extractors.base import FeatureExtractor


def load(name: str, **options: Any) -> FeatureExtractor:
    from audiotok import registry
    from audiotok.errors import AudiotokError

    entry = registry.get(name)
    if entry.kind != "extractor":
        raise AudiotokError(f"{name!r} is a {entry.kind} model, not a feature extractor")
    return entry.build(**options)


__all__ = ["FeatureExtractor", "load"]
