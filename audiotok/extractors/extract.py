"""``audiotok extract``'s engine: a corpus -> a feature store, resumable, bad files reported.

Same pipeline as token encoding (:mod:`audiotok.engine`): probe, length-bucketed batches,
worker processes that decode and resample, one forward pass per batch, shards committed
atomically. Features are stored as float16.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from audiotok.corpus import AudioItem
from audiotok.engine import RunSummary, failure_handler, loaded_batches
from audiotok.extractors.base import FeatureExtractor
from audiotok.extractors.features_store import FeatureWriter


def store_layers(ex: FeatureExtractor) -> list[int | None]:
    return list(getattr(ex, "layers", None) or [None])


def header_of(ex: FeatureExtractor) -> dict[str, Any]:
    return {
        "extractor": ex.name,
        "layers": store_layers(ex),
        "dim": int(ex.dim),
        "frame_rate": float(ex.frame_rate),
        "sample_rate": int(ex.sample_rate),
        "weights_sha256": ex.weights_sha256,
    }


def features_by_layer(ex: FeatureExtractor, wav, lengths):
    """{layer: feats[B, T', D]} for S3M (every selected layer), {None: feats} for MFCC."""
    if hasattr(ex, "extract_layers"):
        return ex.extract_layers(wav, lengths)
    feats, fl = ex(wav, lengths)
    return {None: feats}, fl


def extract_corpus(
    items: Sequence[AudioItem],
    ex: FeatureExtractor,
    out_dir: str | Path,
    *,
    batch_seconds: float = 60.0,
    num_workers: int = 2,
    overwrite: bool = False,
    strict: bool = False,
    shard_size: int = 1000,
    max_duration: float | None = None,
    run_params: dict[str, Any] | None = None,
    on_error: Callable[[AudioItem, str], None] | None = None,
    progress: Callable[[float], None] | None = None,
    on_total: Callable[[float], None] | None = None,
) -> RunSummary:
    import torch

    t0 = time.perf_counter()
    sr = ex.sample_rate
    writer = FeatureWriter(
        out_dir, header_of(ex), overwrite=overwrite, shard_size=shard_size, run=run_params
    )
    summary = RunSummary(str(out_dir))
    todo = [it for it in items if it.id not in writer.done_ids]
    summary.already_done = len(items) - len(todo)
    try:
        for good in loaded_batches(
            todo,
            sample_rate=sr,
            num_frames=ex.num_frames,
            batch_exact=ex.batch_exact,
            fail=failure_handler(writer, on_error, strict),
            batch_seconds=batch_seconds,
            num_workers=num_workers,
            max_duration=max_duration,
            on_total=on_total,
        ):
            lengths = torch.tensor([len(w) for _, w in good])
            batch = torch.zeros(len(good), int(lengths.max()))
            for b, (_, w) in enumerate(good):
                batch[b, : len(w)] = torch.from_numpy(w)
            with torch.inference_mode():
                feats, frame_lengths = features_by_layer(ex, batch.to(ex.device), lengths)
            cpu = {la: f.cpu().numpy() for la, f in feats.items()}
            for b, (p, w) in enumerate(good):
                n = int(frame_lengths[b])
                writer.add(p.item.id, p.item.rel, len(w), {la: cpu[la][b, :n] for la in cpu})
                summary.encoded += 1
                summary.seconds += len(w) / sr
                summary.frames += n
            if progress:
                progress(sum(len(w) for _, w in good) / sr)
    finally:
        writer.close()
    summary.errors = writer.manifest["errors"]
    summary.wall_s = time.perf_counter() - t0
    return summary
