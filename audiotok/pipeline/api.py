"""What the corpus commands call: ``encode``, ``extract`` and features straight from audio.

:func:`encode_corpus` and :func:`extract_corpus` are the one way into a store, on every engine
(``local``, ``ray``) and for a slice of the corpus or all of it: the slice is cut (one header
probe of the corpus), the store is opened (lock, resume, verify), the inputs that could not be
listed are recorded as failures, the engine streams the rows through the one failure policy
and run summary (:func:`audiotok.pipeline.local.run`), and the store is closed however the run
ends, so that an interruption leaves it resumable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audiotok.corpus import AudioItem
from audiotok.errors import AudiotokError
from audiotok.pipeline.batch import FeatureBatchFn, TokenBatchFn
from audiotok.pipeline.local import Events, RunOptions, RunSummary, run
from audiotok.pipeline.plan import Planned
from audiotok.pipeline.sinks import FeatureSink, TokenSink

if TYPE_CHECKING:
    from audiotok.pipeline.engine import Engine
    from audiotok.pipeline.slices import CorpusSlice

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


def _into_store(
    open_writer: Callable[[str | None, dict[str, Any]], Any],
    make_sink: Callable[[Any], Any],
    items: Sequence[AudioItem],
    problems: Sequence[Problem],
    batch_fn: Any,
    out_dir: str | Path,
    engine: str | Engine | None,
    slice: CorpusSlice | None,
    options: RunOptions | None,
    events: Events | None,
    overwrite: bool,
    run_params: dict[str, Any] | None,
    warn: Callable[[str], None] | None,
) -> RunSummary:
    """What every corpus run into a store does, on any engine: cut the slice, check that the
    store holds the same slice, open the writer (lock, resume, verify), record the listing
    problems, run, close, and complete the summary."""
    from audiotok.pipeline.engine import resolve
    from audiotok.pipeline.engine import run_params as engine_params
    from audiotok.pipeline.slices import check_slice, cut

    eng = resolve(engine, warn)
    run_record = dict(run_params or {})
    root = audio_root(items)  # the whole corpus's: the slices of one corpus share it
    work: Sequence[AudioItem | Planned] = items
    want = None
    if slice is not None:
        workers = (options or RunOptions()).num_workers
        c = cut(items, problems, slice, batch_fn.sample_rate, workers)
        work, problems, want = c.work, c.problems, c.run_params()
        run_record.update(want)
    check_slice(out_dir, want, overwrite)
    writer = open_writer(root, engine_params(eng, run_record))
    try:
        sink = make_sink(writer)
        s = record_problems(sink, problems, options, events)
        run(work, batch_fn, sink, options, events, s, eng)
    finally:
        writer.close()
    return finish(writer, s, out_dir)


def encode_corpus(
    items: Sequence[AudioItem],
    tokenizer: Any,
    out_dir: str | Path,
    *,
    engine: str | Engine | None = None,
    slice: CorpusSlice | None = None,
    options: RunOptions | None = None,
    events: Events | None = None,
    overwrite: bool = False,
    shard_size: int = 1000,
    shard_bytes: int = 256 << 20,
    run_params: dict[str, Any] | None = None,
    problems: Sequence[Problem] = (),
    warn: Callable[[str], None] | None = None,
) -> RunSummary:
    """Encode ``items`` (slice ``slice`` of them, where given) into the token store
    ``out_dir`` on ``engine`` (``"local"`` by default, ``"ray"``, or an engine object);
    resumes where a store exists. ``shard_size`` / ``shard_bytes`` bound each Parquet shard.
    ``problems``: inputs that could not be listed (:func:`scan_inputs`), recorded as failed."""
    from audiotok.store.tokens import TokenWriter

    def open_writer(root: str | None, run_record: dict[str, Any]) -> Any:
        return TokenWriter(
            out_dir, tokenizer.spec, recipe=getattr(tokenizer, "recipe", None),
            overwrite=overwrite, shard_size=shard_size, shard_bytes=shard_bytes,
            run=run_record, audio_root=root, warn=warn,
        )  # fmt: skip

    fn = TokenBatchFn(tokenizer)
    run_params = {**(run_params or {}), "batching": fn.batching}  # pipeline/batch.py's policy
    return _into_store(
        open_writer, lambda w: TokenSink(w, tokenizer.sample_rate), items, problems,
        fn, out_dir, engine, slice, options, events, overwrite, run_params, warn,
    )  # fmt: skip


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
    engine: str | Engine | None = None,
    slice: CorpusSlice | None = None,
    options: RunOptions | None = None,
    events: Events | None = None,
    overwrite: bool = False,
    shard_size: int = 1000,
    run_params: dict[str, Any] | None = None,
    problems: Sequence[Problem] = (),
    recipe: Any = None,
    warn: Callable[[str], None] | None = None,
) -> RunSummary:
    """Extract features of ``items`` (slice ``slice`` of them) into the feature store
    ``out_dir`` on ``engine``, as :func:`encode_corpus`; ``recipe`` (the extractor's
    ``ExtractorConfig``) is recorded, and is what the Ray engine's actors build."""
    from audiotok.store.features import FeatureWriter

    fn = FeatureBatchFn(extractor, recipe)

    def open_writer(root: str | None, run_record: dict[str, Any]) -> Any:
        return FeatureWriter(
            out_dir, feature_header(extractor, fn.layers), recipe=recipe, overwrite=overwrite,
            shard_size=shard_size, run=run_record, audio_root=root, warn=warn,
        )  # fmt: skip

    return _into_store(
        open_writer, lambda w: FeatureSink(w, fn.layers), items, problems, fn, out_dir,
        engine, slice, options, events, overwrite, run_params, warn,
    )  # fmt: skip


def features_from_audio(
    items: Sequence[AudioItem | Planned],
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
