"""What ABX can score, as ``(utterance id, frames [T, D])`` streams with their frame rate.

- a feature store (``audiotok extract``): the stored layer;
- an audio corpus with an extractor and layer: features computed by the pipeline (one
  failure policy: files that cannot be read are reported, the rest are scored);
- a token store (or codes in memory): units turned into vectors, either one-hot (the
  distance between frames then only says whether units are equal; with several codebooks
  the one-hots are concatenated, so cosine counts the codebooks that agree) or centroids
  (a k-means codebook's entries: the store's own codebook for semantic stores, or a codebook
  file; several codebooks are summed, as residual quantisers sum them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError

EMBEDDINGS = ("onehot", "centroids")


@dataclass
class FrameSource:
    frames: Iterable[tuple[str, np.ndarray]]
    frame_rate: float
    describe: dict[str, Any]
    failures: list[tuple[str, str]]


def unit_vectors(
    codes: np.ndarray,
    codebook_size: int,
    *,
    embedding: str = "onehot",
    centroids: np.ndarray | None = None,
    codebooks: Sequence[int] | None = None,
) -> np.ndarray:
    """``codes [K, T]`` (or ``[T]``) -> ``[T, D]`` float32 vectors (module docstring)."""
    c = np.atleast_2d(np.asarray(codes)).astype(np.int64)
    pick = list(range(c.shape[0])) if codebooks is None else list(codebooks)
    if any(k < 0 or k >= c.shape[0] for k in pick):
        raise AudiotokError(f"codebooks {pick} out of range: the codes have {c.shape[0]}")
    if embedding == "onehot":
        out = np.zeros((c.shape[1], len(pick) * codebook_size), dtype=np.float32)
        rows = np.arange(c.shape[1])
        for n, k in enumerate(pick):
            out[rows, n * codebook_size + c[k]] = 1.0
        return out
    if embedding == "centroids":
        if centroids is None:
            raise AudiotokError("centroid embeddings need a codebook (--centroids FILE)")
        table = np.asarray(centroids, dtype=np.float32)
        if table.ndim == 2:
            table = table[None]
        if table.shape[0] == 1:
            table = np.repeat(table, c.shape[0], axis=0)
        if table.shape[0] != c.shape[0] or table.shape[1] < codebook_size:
            raise AudiotokError(
                f"codebook of {table.shape[1]} entries x {table.shape[0]} does not fit codes of "
                f"{c.shape[0]} codebooks of size {codebook_size}"
            )
        return np.sum([table[k][c[k]] for k in pick], axis=0).astype(np.float32)
    raise AudiotokError(f"unknown unit embedding {embedding!r}: use {', '.join(EMBEDDINGS)}")


def store_centroids(tokens: Any) -> np.ndarray:
    """The k-means centroids of a semantic token store's own tokenizer (its recipe)."""
    from audiotok import load_for_store

    if tokens.spec.kind != "semantic":
        raise AudiotokError(
            f"{tokens.spec.name} is a {tokens.spec.kind} store: centroid embeddings need a "
            "k-means codebook (--centroids FILE); use --units onehot for codec tokens"
        )
    tok: Any = load_for_store(str(tokens.dir), device="cpu")
    return tok.codebook.centroids.cpu().numpy()


def token_source(
    path: str | Path,
    *,
    embedding: str = "onehot",
    centroids: str | Path | None = None,
    codebooks: Sequence[int] | None = None,
) -> FrameSource:
    from audiotok import open_tokens

    ts = open_tokens(str(path))
    table = None
    if embedding == "centroids":
        if centroids is not None:
            from audiotok.kmeans.codebook import load as load_codebook

            table = load_codebook(centroids).centroids.cpu().numpy()
        else:
            table = store_centroids(ts)
    size = ts.spec.codebook_size

    def frames() -> Iterator[tuple[str, np.ndarray]]:
        for uid, codes in ts:
            yield (
                uid,
                unit_vectors(
                    codes, size, embedding=embedding, centroids=table, codebooks=codebooks
                ),
            )

    return FrameSource(
        frames(),
        float(ts.spec.frame_rate),
        {"source": "tokens", "name": ts.spec.name, "units": embedding, "codebooks": codebooks},
        [(e.get("id", "?"), e.get("reason", "")) for e in ts.errors],
    )


def feature_source(path: str | Path, layer: int | None = None) -> FrameSource:
    from audiotok.store.features import open_features

    fs = open_features(path)
    h = fs.header_for(layer)
    return FrameSource(
        fs.iter(h["layer"]),
        float(h["frame_rate"]),
        {"source": "features", "name": h.get("extractor"), "layer": h["layer"]},
        [(e.get("id", "?"), e.get("reason", "")) for e in fs.errors],
    )


def audio_source(
    corpus: str | Path, model: str, layer: int | None, device: str = "cpu"
) -> FrameSource:
    from audiotok.kmeans.audio_source import load_extractor
    from audiotok.pipeline.api import features_from_audio, scan_inputs

    items, problems = scan_inputs([corpus])
    if not items:
        raise AudiotokError(f"no audio files in {corpus}")
    ex = load_extractor(model, layer, device)
    failures = [(item.id, reason) for item, reason in problems]

    def frames() -> Iterator[tuple[str, np.ndarray]]:
        def fail(item: Any, reason: str) -> None:
            failures.append((item.id, reason))

        for item, feats in features_from_audio(items, ex, on_fail=fail):
            yield item.id, feats

    return FrameSource(
        frames(),
        float(ex.frame_rate),
        {"source": "audio", "name": model, "layer": layer},
        failures,
    )


def open_source(
    source: str | Path,
    *,
    model: str | None = None,
    layer: int | None = None,
    embedding: str = "onehot",
    centroids: str | Path | None = None,
    codebooks: Sequence[int] | None = None,
    device: str = "cpu",
) -> FrameSource:
    """A token store, a feature store, or (with ``model``) an audio corpus."""
    from audiotok.store import record

    p = Path(source)
    if not p.exists():
        raise AudiotokError(f"{p} does not exist")
    rec = record.read(p) if p.is_dir() else None
    if rec is not None and rec.format == record.TOKENS:
        return token_source(p, embedding=embedding, centroids=centroids, codebooks=codebooks)
    if rec is not None and rec.format == record.FEATURES:
        return feature_source(p, layer)
    if model is None:
        raise AudiotokError(
            f"{p} is neither a token store nor a feature store: for audio pass --model NAME "
            "(and --layer L)"
        )
    return audio_source(p, model, layer, device)
