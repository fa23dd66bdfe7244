"""What the corpus commands call: ``encode``, ``extract`` and features straight from audio.

Each function scans the inputs (unreadable folders and broken links are failures like bad
files), opens the store (lock, resume, verify), runs the local engine, and closes the store
so that an interruption leaves it resumable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.corpus import AudioItem
from audiotok.errors import AudiotokError
from audiotok.pipeline.batch import FeatureBatchFn, TokenBatchFn
from audiotok.pipeline.local import Events, RunOptions, RunSummary, run
from audiotok.pipeline.sinks import FeatureSink, TokenSink

Problem = tuple[AudioItem, str]  # an input that cannot be listed, and why


def scan_inputs(inputs: Sequence[str | os.PathLike]) -> tuple[list[AudioItem], list[Problem]]:
    """(items, problems): problems are inputs that cannot be listed (an unreadable folder, a
    link loop), recorded as failures by the run like bad files."""
    from audiotok import corpus

    items, found = corpus.scan_with_problems(inputs)
    return items, [(AudioItem(_problem_id(p), str(p), ""), reason) for p, reason in found]


def _problem_id(path: str) -> str:
    return "!" + Path(path).as_posix().lstrip("/")


def audio_root(items: Sequence[AudioItem]) -> str | None:
    """The deepest folder holding every item: rows' paths are stored relative to it."""
    if not items:
        return None
    parents = {os.path.dirname(it.path) for it in items}
    return os.path.commonpath(sorted(parents))


def record_problems(
    sink: Any, problems: Sequence[Problem], options: RunOptions | None, events: Events | None
) -> RunSummary:
    """A run's summary that starts with the inputs that could not be listed, each recorded
    as a failure in the store; with ``--strict`` the run stops after recording them."""
    summary = RunSummary()
    ev = events or Events()
    for item, reason in problems:
        sink.fail(item, reason)
        summary.failed += 1
        if ev.on_error:
            ev.on_error(item, reason)
    if problems and options is not None and options.strict:
        from audiotok.pipeline.local import StrictStop

        raise StrictStop("--strict: stopped at the first input that failed (above)")
    return summary


def finish(writer: Any, summary: RunSummary, out_dir: str | Path) -> RunSummary:
    """``summary`` completed with what the closed store ``writer`` holds."""
    summary.out_dir = str(out_dir)
    summary.errors = writer.record.errors
    summary.repaired_shards = writer.repaired
    return summary


def _run_with_problems(items, problems, batch_fn, sink, options, events) -> RunSummary:
    summary = record_problems(sink, problems, options, events)
    return run(items, batch_fn, sink, options, events, summary)


def encode_corpus(
    items: Sequence[AudioItem],
    tokenizer: Any,
    out_dir: str | Path,
    *,
    options: RunOptions | None = None,
    events: Events | None = None,
    overwrite: bool = False,
    shard_size: int = 1000,
    shard_bytes: int = 256 << 20,
    run_params: dict[str, Any] | None = None,
    problems: Sequence[Problem] = (),
    warn: Callable[[str], None] | None = None,
) -> RunSummary:
    """Encode ``items`` into the token store ``out_dir`` (resumes where a store exists)."""
    from audiotok.store.tokens import TokenWriter

    fn = TokenBatchFn(tokenizer)
    writer = TokenWriter(
        out_dir,
        tokenizer.spec,
        recipe=getattr(tokenizer, "recipe", None),
        overwrite=overwrite,
        shard_size=shard_size,
        shard_bytes=shard_bytes,
        run={**(run_params or {}), "batching": fn.batching},  # pipeline/batch.py's policy
        audio_root=audio_root(items),
        warn=warn,
    )
    try:
        s = _run_with_problems(
            items, problems, fn, TokenSink(writer, tokenizer.sample_rate),
            options, events,
        )  # fmt: skip
    finally:
        writer.close()
    return finish(writer, s, out_dir)


def feature_header(extractor: Any, layers: list[int | None]) -> dict[str, Any]:
    """What a feature store records of the extractor that made it (its identity)."""
    return {
        "extractor": extractor.name,
        "layers": layers,
        "dim": int(extractor.dim),
        "frame_rate": float(extractor.frame_rate),
        "sample_rate": int(extractor.sample_rate),
        "weights_sha256": extractor.weights_sha256,
    }


def extract_corpus(
    items: Sequence[AudioItem],
    extractor: Any,
    out_dir: str | Path,
    *,
    options: RunOptions | None = None,
    events: Events | None = None,
    overwrite: bool = False,
    shard_size: int = 1000,
    run_params: dict[str, Any] | None = None,
    problems: Sequence[Problem] = (),
    recipe: Any = None,
    warn: Callable[[str], None] | None = None,
) -> RunSummary:
    """Extract features of ``items`` into the feature store ``out_dir`` (resumes)."""
    from audiotok.store.features import FeatureWriter

    fn = FeatureBatchFn(extractor)
    writer = FeatureWriter(
        out_dir,
        feature_header(extractor, fn.layers),
        recipe=recipe,
        overwrite=overwrite,
        shard_size=shard_size,
        run=run_params,
        audio_root=audio_root(items),
        warn=warn,
    )
    try:
        s = _run_with_problems(items, problems, fn, FeatureSink(writer, fn.layers), options, events)
    finally:
        writer.close()
    return finish(writer, s, out_dir)


def features_from_audio(
    items: Sequence[AudioItem],
    extractor: Any,
    *,
    options: RunOptions | None = None,
    events: Events | None = None,
    on_fail: Callable[[AudioItem, str], None] | None = None,
) -> Iterator[tuple[AudioItem, np.ndarray]]:
    """``(item, feats [T', D] float32)`` for each readable item, in batch order: the
    extractor's output (several layers combined as the extractor combines them). Failures go
    to ``on_fail`` (and ``events.on_error``) with their reasons, as for every corpus command."""
    import torch

    from audiotok.pipeline.local import stream

    fn = FeatureBatchFn(extractor)
    combine = getattr(extractor, "combine", None)
    for item, _, feats in stream(items, fn, on_fail or (lambda i, r: None), options, events):
        if len(fn.layers) == 1 or combine is None:
            yield item, feats[0]
            continue
        with torch.inference_mode():
            per = {la: torch.from_numpy(feats[j])[None] for j, la in enumerate(fn.layers)}
            yield item, combine(per)[0].float().numpy()


def check_output_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise AudiotokError(f"output {out} exists and is not a directory")
