"""Engines: *how* the batches of a run are streamed, and nothing else.

An engine has one method, ``stream(items, batch_fn, fail, options, events)``, a generator of
``(item, num_samples, array)`` rows: it plans (header probes, except for items that are
:class:`~audiotok.pipeline.plan.Planned` already), decodes, runs the batch function and hands
each failure to ``fail``. The store (lock, resume, verify), the writer, the failure policy
and the run summary are the pipeline's (:mod:`audiotok.pipeline.api`,
:func:`audiotok.pipeline.local.stream`), the same for every engine.

:data:`ENGINES` names them for ``--engine``: ``local`` (:class:`LocalEngine`, this machine)
and ``ray`` (:class:`audiotok.engines.ray.RayEngine`, a Ray cluster).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.pipeline.local import Engine, LocalEngine


@dataclass(frozen=True)
class EngineFlags:
    """The command line's say on where a run goes (``--address``, ``--actors``, ...)."""

    address: str | None = None
    actors: int | None = None
    num_gpus: float | None = None
    device: str = "auto"
    dtype: str | None = None
    warn: Callable[[str], None] | None = None  # where an engine's warnings go

    def cluster_flags(self) -> list[str]:
        return [f for f, v in (("--address", self.address), ("--actors", self.actors),
                               ("--num-gpus", self.num_gpus)) if v is not None]  # fmt: skip


def _local(flags: EngineFlags) -> Engine:
    given = flags.cluster_flags()
    if given:  # refused rather than ignored
        raise AudiotokError(f"{given[0]} applies to --engine ray")
    return LocalEngine()


def _ray(flags: EngineFlags) -> Engine:
    if flags.device != "auto":
        raise AudiotokError(
            "with --engine ray the actors' device follows --num-gpus (a GPU per actor where "
            "the cluster has GPUs; --num-gpus 0 for CPU actors): leave --device out"
        )
    if flags.dtype not in (None, "float32", "fp32"):
        # a model's recipe records the dtype it computes in, which depends on its device
        # (autocast runs only on a GPU); the driver's copy is on the CPU, so a store made by
        # GPU actors would record float32 while they computed in --dtype
        raise AudiotokError(
            f"--dtype {flags.dtype} is not available with --engine ray yet (the store's recipe "
            "would not say it): leave it out, or use --engine local on a GPU"
        )
    from audiotok.engines.ray import RayEngine, RayOptions

    opts = RayOptions(address=flags.address, actors=flags.actors, num_gpus=flags.num_gpus)
    opts.check()
    return RayEngine(opts, warn=flags.warn)


ENGINES: dict[str, Callable[[EngineFlags], Engine]] = {"local": _local, "ray": _ray}


def engine_for(name: str, flags: EngineFlags | None = None) -> Engine:
    """The engine ``--engine name`` runs on, built from the command line's ``flags``; flags
    that apply to another engine are refused."""
    build = ENGINES.get(name)
    if build is None:
        raise AudiotokError(f"unknown --engine {name!r}: use one of {', '.join(ENGINES)}")
    return build(flags or EngineFlags())


def resolve(engine: str | Engine | None, warn: Callable[[str], None] | None = None) -> Engine:
    """An engine object from a name (``"local"``, ``"ray"``: default options, warnings to
    ``warn``), an engine, or None (local)."""
    if engine is None:
        return LocalEngine()
    if isinstance(engine, str):
        return engine_for(engine, EngineFlags(warn=warn))
    return engine


def run_params(engine: Engine, run: dict[str, Any]) -> dict[str, Any]:
    """What the store's record says of the run on ``engine``: an engine may add to it
    (``recorded(run)``: the Ray engine names itself and its layout)."""
    recorded = getattr(engine, "recorded", None)
    return dict(recorded(run)) if callable(recorded) else dict(run)
