"""Sinks: where the batch function's arrays go. The store layer is the one durable sink;
in-memory sinks serve k-means sampling and evaluation straight from audio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from audiotok.corpus import AudioItem


class TokenSink:
    """Rows into a token store (``TokenWriter``)."""

    def __init__(self, writer: Any, sample_rate: int):
        self.writer = writer
        self.sr = sample_rate

    @property
    def done_ids(self) -> set[str]:
        return self.writer.done_ids

    def put(self, item: AudioItem, num_samples: int, codes: np.ndarray) -> None:
        self.writer.add(item.id, item.path, num_samples / self.sr, codes)

    def fail(self, item: AudioItem, reason: str) -> None:
        self.writer.add_error(item.id, item.path, reason)


class FeatureSink:
    """Rows into a feature store (``FeatureWriter``): [L, T', D] -> {layer: [T', D]}."""

    def __init__(self, writer: Any, layers: list[int | None]):
        self.writer = writer
        self.layers = layers

    @property
    def done_ids(self) -> set[str]:
        return self.writer.done_ids

    def put(self, item: AudioItem, num_samples: int, feats: np.ndarray) -> None:
        self.writer.add(
            item.id, item.path, num_samples, {la: feats[j] for j, la in enumerate(self.layers)}
        )

    def fail(self, item: AudioItem, reason: str) -> None:
        self.writer.add_error(item.id, item.path, reason)


class CallbackSink:
    """Hands each item's array to ``consume(item, num_samples, array)``; failures are kept
    in ``errors`` (id, path, reason), as a store would keep them."""

    def __init__(self, consume: Callable[[AudioItem, int, np.ndarray], None]):
        self.consume = consume
        self.done_ids: set[str] = set()
        self.errors: list[dict[str, str]] = []

    def put(self, item: AudioItem, num_samples: int, array: np.ndarray) -> None:
        self.consume(item, num_samples, array)
        self.done_ids.add(item.id)

    def fail(self, item: AudioItem, reason: str) -> None:
        self.errors.append({"id": item.id, "path": item.path, "reason": reason})
