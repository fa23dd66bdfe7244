"""What ``encode`` and ``extract`` call to pick an engine (``local`` | ``ray``) and a slice.

``--engine local`` without ``--shard`` is :func:`audiotok.pipeline.api.encode_corpus` /
``extract_corpus`` as they are. Otherwise the same store is opened the same way (lock, resume,
verify; the audio root of the whole corpus, so that the slices of one corpus share it and
merge by hard links), the listing problems are recorded as failures, and the chosen engine
runs. A slice's store records which slice it holds and of which listing; a store of another
slice (or an unsliced store) is refused rather than mixed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from audiotok.corpus import AudioItem
from audiotok.engines.shard import Shard
from audiotok.errors import AudiotokError
from audiotok.pipeline.local import Events, RunOptions, RunSummary

ENGINES = ("local", "ray")
Problem = tuple[AudioItem, str]
Warn = Callable[[str], None]


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise AudiotokError(f"unknown --engine {engine!r}: use one of {', '.join(ENGINES)}")


def encode_corpus(
    items: Sequence[AudioItem],
    tokenizer: Any,
    out_dir: str | Path,
    *,
    engine: str = "local",
    ray_options: Any = None,
    shard: Shard | None = None,
    options: RunOptions | None = None,
    events: Events | None = None,
    overwrite: bool = False,
    shard_size: int = 1000,
    shard_bytes: int = 256 << 20,
    run_params: dict[str, Any] | None = None,
    problems: Sequence[Problem] = (),
    warn: Warn | None = None,
) -> RunSummary:
    """Encode ``items`` (slice ``shard`` of them) into the token store ``out_dir`` on
    ``engine``; resumes where a store exists."""
    from audiotok.pipeline import api

    check_engine(engine)
    if engine == "local" and shard is None:
        _check_slice(out_dir, None, overwrite)
        return api.encode_corpus(
            items, tokenizer, out_dir, options=options, events=events, overwrite=overwrite,
            shard_size=shard_size, shard_bytes=shard_bytes, run_params=run_params,
            problems=problems, warn=warn,
        )  # fmt: skip
    from audiotok.pipeline.batch import TokenBatchFn
    from audiotok.pipeline.sinks import TokenSink
    from audiotok.store.tokens import TokenWriter

    root = api.audio_root(items)
    items, problems, run = _slice(items, problems, shard, options, run_params, out_dir, overwrite)
    recipe = getattr(tokenizer, "recipe", None)
    writer = TokenWriter(
        out_dir, tokenizer.spec, recipe=recipe, overwrite=overwrite, shard_size=shard_size,
        shard_bytes=shard_bytes, run=_engine_params(run, engine, ray_options), audio_root=root,
        warn=warn,
    )  # fmt: skip
    fn = TokenBatchFn(tokenizer)
    sink = TokenSink(writer, tokenizer.sample_rate)
    return _into(writer, sink, items, problems, fn, "tokens", recipe, engine, ray_options,
                 options, events, warn, out_dir)  # fmt: skip


def extract_corpus(
    items: Sequence[AudioItem],
    extractor: Any,
    out_dir: str | Path,
    *,
    engine: str = "local",
    ray_options: Any = None,
    shard: Shard | None = None,
    options: RunOptions | None = None,
    events: Events | None = None,
    overwrite: bool = False,
    shard_size: int = 1000,
    run_params: dict[str, Any] | None = None,
    problems: Sequence[Problem] = (),
    recipe: Any = None,
    warn: Warn | None = None,
) -> RunSummary:
    """Extract features of ``items`` (slice ``shard`` of them) into the feature store
    ``out_dir`` on ``engine``; resumes where a store exists."""
    from audiotok.pipeline import api

    check_engine(engine)
    if engine == "local" and shard is None:
        _check_slice(out_dir, None, overwrite)
        return api.extract_corpus(
            items, extractor, out_dir, options=options, events=events, overwrite=overwrite,
            shard_size=shard_size, run_params=run_params, problems=problems, recipe=recipe,
            warn=warn,
        )  # fmt: skip
    from audiotok.pipeline.batch import FeatureBatchFn
    from audiotok.pipeline.sinks import FeatureSink
    from audiotok.store.features import FeatureWriter

    root = api.audio_root(items)
    items, problems, run = _slice(items, problems, shard, options, run_params, out_dir, overwrite)
    fn = FeatureBatchFn(extractor)
    header = api.feature_header(extractor, fn.layers)
    writer = FeatureWriter(
        out_dir, header, recipe=recipe, overwrite=overwrite, shard_size=shard_size,
        run=_engine_params(run, engine, ray_options), audio_root=root, warn=warn,
    )  # fmt: skip
    sink = FeatureSink(writer, fn.layers)
    return _into(writer, sink, items, problems, fn, "features", recipe, engine, ray_options,
                 options, events, warn, out_dir)  # fmt: skip


def engine_options(
    engine: str,
    *,
    address: str | None = None,
    actors: int | None = None,
    num_gpus: float | None = None,
    device: str = "auto",
    dtype: str | None = None,
) -> Any:
    """The Ray options of the command line (None for the local engine); options that apply
    only to Ray are refused with the local engine rather than ignored."""
    check_engine(engine)
    given = [f for f, v in (("--address", address), ("--actors", actors),
                            ("--num-gpus", num_gpus)) if v is not None]  # fmt: skip
    if engine == "local":
        if given:
            raise AudiotokError(f"{given[0]} applies to --engine ray")
        return None
    if device != "auto":
        raise AudiotokError(
            "with --engine ray the actors' device follows --num-gpus (a GPU per actor where "
            "the cluster has GPUs; --num-gpus 0 for CPU actors): leave --device out"
        )
    if dtype not in (None, "float32", "fp32"):
        # a model's recipe records the dtype it computes in, which depends on its device
        # (autocast runs only on a GPU); the driver's copy is on the CPU, so a store made by
        # GPU actors would record float32 while they computed in --dtype
        raise AudiotokError(
            f"--dtype {dtype} is not available with --engine ray yet (the store's recipe would "
            "not say it): leave it out, or use --engine local on a GPU"
        )
    from audiotok.engines.ray import RayOptions

    opts = RayOptions(address=address, actors=actors, num_gpus=num_gpus)
    opts.check()
    return opts


def _slice(
    items: Sequence[AudioItem],
    problems: Sequence[Problem],
    shard: Shard | None,
    options: RunOptions | None,
    run_params: dict[str, Any] | None,
    out_dir: str | Path,
    overwrite: bool,
) -> tuple[list[AudioItem], list[Problem], dict[str, Any]]:
    run = dict(run_params or {})
    if shard is None:
        _check_slice(out_dir, None, overwrite)
        return list(items), list(problems), run
    from audiotok.engines.shard import select

    workers = (options or RunOptions()).num_workers
    sl = select(items, problems, shard, workers)
    _check_slice(out_dir, sl.run_params(), overwrite)
    run.update(sl.run_params())
    return sl.items, sl.problems, run


def _check_slice(out_dir: str | Path, want: dict[str, Any] | None, overwrite: bool) -> None:
    """Refuse to resume a store that holds another slice (or a whole corpus) than this run."""
    from audiotok.store import record as R

    if overwrite:
        return
    try:
        rec = R.read(out_dir)
    except AudiotokError:
        return  # the writer reports a damaged record in its own words
    if rec is None or not (rec.shards or rec.errors):
        return
    have: dict[str, Any] | None = {
        k: rec.run[k] for k in ("shard", "shard_of") if k in rec.run
    } or None
    if have == want:
        return

    def name(p: dict[str, Any] | None) -> str:
        return "the whole corpus" if p is None else f"slice {p['shard']}"

    same_slice = have is not None and want is not None and have["shard"] == want["shard"]
    why = " of another listing of the corpus" if same_slice else ""
    raise AudiotokError(
        f"{out_dir} holds {name(have)}{why}; this run makes {name(want)}: choose another "
        "--output, or --overwrite"
    )


def _engine_params(run: dict[str, Any], engine: str, ray_options: Any) -> dict[str, Any]:
    if engine != "ray":
        return run
    ro = ray_options
    ray = {"address": getattr(ro, "address", None), "actors": getattr(ro, "actors", None),
           "num_gpus": getattr(ro, "num_gpus", None)}  # fmt: skip
    # the driver's copy of the model runs on the CPU and only plans: its device is not the
    # actors' (which depends on the cluster), so it is not recorded as the run's
    return {**{k: v for k, v in run.items() if k != "device"}, "engine": "ray", "ray": ray}


def _into(
    writer: Any,
    sink: Any,
    items: Sequence[AudioItem],
    problems: Sequence[Problem],
    fn: Any,
    target: str,
    recipe: Any,
    engine: str,
    ray_options: Any,
    options: RunOptions | None,
    events: Events | None,
    warn: Warn | None,
    out_dir: str | Path,
) -> RunSummary:
    from audiotok.pipeline.api import finish, record_problems

    try:
        s = record_problems(sink, problems, options, events)
        if engine == "ray":
            from audiotok.engines import ray as ray_engine

            ray_engine.run(items, fn, target, recipe, sink, options, ray_options, events, s, warn)
        else:
            from audiotok.pipeline.local import run

            run(items, fn, sink, options, events, s)
    finally:
        writer.close()
    return finish(writer, s, out_dir)
