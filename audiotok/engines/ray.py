"""The Ray engine (:class:`RayEngine`): every call into Ray is in this module (Ray's batch API
has changed across versions: ``concurrency=`` gave way to ``compute=ActorPoolStrategy``;
tested with ray 2.60).

Stages, as in the local engine (:mod:`audiotok.pipeline.local`), one Ray Data pipeline:

1. plan: header probes as Ray tasks (chunks of items through ``probe_chunk``), then
   ``make_batches`` in the driver: the same length buckets as the local engine;
2. decode: Ray Data tasks (``decode_table``: the local workers' ``load_batch``, no torch),
   ``--num-workers`` of them per model actor;
3. model: a fixed pool of actors (``ModelStage``), each building the batch function from the
   recipe, ``num_gpus`` each where the cluster has GPUs, CPU actors otherwise;
4. the driver yields the results as they complete; the pipeline writes them through the one
   store writer it holds (docs/scale.md says why the driver writes) and counts them.

A file that fails anywhere is a row with its reason (the local engine's reason strings), never
a failed block. ``--strict``, Ctrl-C and the exit codes behave as in the local engine; the
Ray that the run started (or connected to) is shut down in a ``finally``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiotok.corpus import AudioItem
from audiotok.engines.ray_errors import engine_error
from audiotok.engines.ray_layout import Layout, RayOptions, layout_for
from audiotok.errors import AudiotokError
from audiotok.pipeline.local import BatchFn, Events, RunOptions, Work, split_work
from audiotok.pipeline.plan import PROBE_CHUNK, Planned, make_batches, probe_chunk

Warn = Callable[[str], None]
TESTED_VERSION = "2.60.0"


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise AudiotokError(
            "--engine ray needs Ray Data: pip install 'audiotok[ray]' (or --engine local)"
        ) from None
    return ray


@contextlib.contextmanager
def session(opts: RayOptions) -> Iterator[tuple[float, float, bool]]:
    """Ray for this run: ``(cpus, gpus, started_here)``. Connects to ``opts.address`` or
    starts a local Ray; a Ray already running in this process is used as it is. What this
    run started (or connected) is shut down at the end, however it ends."""
    ray = _import_ray()
    started = False
    workdir: str | None = None
    if not ray.is_initialized():
        # Ray puts the driver's working directory first on the workers' import path, unless
        # the job has a working_dir: run from a checkout (a folder named audiotok), the actors
        # would import that folder instead of the installed package. An empty working_dir
        # (ray/_private/worker.py, connect: code_paths) makes them import the installed one.
        import tempfile

        workdir = tempfile.mkdtemp(prefix="audiotok-ray-")
        kwargs: dict[str, Any] = {
            "log_to_driver": False,
            "configure_logging": False,
            "runtime_env": {"working_dir": workdir},
        }
        try:
            if opts.address:
                _check_reachable(opts.address)
                try:
                    ray.init(address=opts.address, **kwargs)
                except (ConnectionError, RuntimeError, ValueError) as e:
                    raise AudiotokError(
                        f"cannot join the Ray cluster at --address {opts.address}: {e} (start one "
                        "with `ray start --head`, or leave --address out for a Ray on this machine)"
                    ) from None
            else:  # "local": a new Ray even where RAY_ADDRESS or a `ray start` cluster exists
                ray.init(
                    address="local",
                    num_cpus=opts.num_cpus or os.cpu_count() or 1,
                    include_dashboard=False,
                    object_store_memory=opts.object_store_memory,
                    **kwargs,
                )
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        started = True
    # the CLI shows its own progress: Ray Data's progress logs (and the one line saying they
    # are off) would only repeat it; its warnings (memory, stalls) still come through
    logs = {name: logging.getLogger(name) for name in ("ray.data", "ray.data._internal.progress")}
    old_levels = {name: lg.level for name, lg in logs.items()}
    logs["ray.data"].setLevel(logging.WARNING)
    logs["ray.data._internal.progress"].setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    old_bars = ctx.enable_progress_bars
    ctx.enable_progress_bars = False
    try:
        res = ray.cluster_resources()
        fixed = started and not opts.address
        yield float(res.get("CPU", 0.0)), float(res.get("GPU", 0.0)), fixed
    finally:
        ctx.enable_progress_bars = old_bars
        for name, lg in logs.items():
            lg.setLevel(old_levels[name])
        if started:
            ray.shutdown()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail in seconds, not never, on a HOST:PORT nobody listens on (``ray.init`` retries such
    an address without end). ``auto`` is left to Ray, which fails at once without a cluster."""
    import socket

    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise AudiotokError(
            f"cannot reach the Ray cluster at --address {address} ({e.strerror or e}); is its "
            "head running (`ray status` on it)?"
        ) from None


@dataclass
class RayEngine:
    """The Ray engine (``--engine ray``): streams the rows of a run from a Ray Data pipeline;
    the store, the failure policy and the summary stay with the caller (the pipeline)."""

    options: RayOptions = field(default_factory=RayOptions)
    warn: Warn | None = None

    def recorded(self, run: dict[str, Any]) -> dict[str, Any]:
        """The store's run record: this engine and its options. The driver's copy of the
        model runs on the CPU and only plans: its device is not the actors' (which depends on
        the cluster), so it is not recorded as the run's."""
        ro = self.options
        ray = {"address": ro.address, "actors": ro.actors, "num_gpus": ro.num_gpus}
        return {**{k: v for k, v in run.items() if k != "device"}, "engine": "ray", "ray": ray}

    def stream(
        self,
        items: Sequence[Work],
        batch_fn: BatchFn,
        fail: Callable[[AudioItem, str], None],
        options: RunOptions,
        events: Events,
    ) -> Generator[tuple[AudioItem, int, np.ndarray], None, None]:
        """``(item, num_samples, array)`` for each item that goes through, in completion
        order; failures go to ``fail`` with the local engine's reasons. ``batch_fn`` is the
        driver's copy, used only for planning (rate, exactness, frame counts): the actors
        build theirs from its recipe."""
        if not items:
            return  # nothing to do: no Ray started
        recipe = getattr(batch_fn, "recipe", None)
        if recipe is None:
            raise AudiotokError(
                "--engine ray rebuilds the model in each actor from its recipe, and this model "
                "has none; use --engine local"
            )
        ropts = self.options
        ropts.check()
        opts, ev, sr = options, events, batch_fn.sample_rate
        ray = _import_ray()
        try:
            with session(ropts) as (cpus, gpus, fixed):
                lay, problem = layout_for(cpus, gpus, ropts, opts.num_workers, fixed=fixed)
                if problem and self.warn:
                    self.warn(f"{problem}; waiting for the cluster to grow")
                planned = _plan(ray, items, sr, opts, fail, int(max(cpus, 1)))
                if ev.on_total:
                    ev.on_total(sum(p.num_samples for p in planned) / sr, len(planned))
                long_samples = getattr(batch_fn, "long_samples", None)
                batches = make_batches(
                    planned, int(opts.batch_seconds * sr), not batch_fn.batch_exact, long_samples
                )
                if not batches:
                    return
                by_id = {p.item.id: p.item for p in planned}
                target = getattr(batch_fn, "target", "tokens")
                ds = _dataset(ray, batches, target, recipe, sr, opts, lay)
                for table in _iterate(ray, ds):
                    yield from _consume(table, by_id, sr, fail, ev)
        except KeyboardInterrupt:
            with contextlib.suppress(ValueError):  # a second Ctrl-C while Ray shuts down
                signal.signal(signal.SIGINT, lambda *_: os._exit(130))
            raise


def _consume(
    table: Any,
    by_id: dict[str, AudioItem],
    sr: int,
    fail: Callable[[AudioItem, str], None],
    ev: Events,
) -> Iterator[tuple[AudioItem, int, np.ndarray]]:
    from audiotok.engines.stages import results_of

    for r in results_of(table):
        item = by_id[r.id]
        if r.array is None:
            fail(item, r.reason or "no output")
            if ev.on_progress:
                ev.on_progress(0.0, 1)
            continue
        yield item, r.num_samples, r.array
        if ev.on_progress:
            ev.on_progress(r.num_samples / sr, 1)


def _plan(
    ray: Any,
    items: Sequence[Work],
    sr: int,
    opts: RunOptions,
    fail: Callable[[AudioItem, str], None],
    width: int,
) -> list[Planned]:
    """Header probes as Ray tasks (at most ``4 x width`` chunks in flight), results in order;
    items probed already (a slice's) are only checked against ``--max-duration``."""
    planned, todo = split_work(items, opts.max_duration, fail)
    probe = ray.remote(num_cpus=1, max_retries=3)(probe_chunk)
    chunks = [list(todo[i : i + PROBE_CHUNK]) for i in range(0, len(todo), PROBE_CHUNK)]
    pending: deque[tuple[list[AudioItem], Any]] = deque()
    it = iter(chunks)
    for chunk in it:
        pending.append((chunk, probe.remote(chunk, sr, opts.max_duration)))
        if len(pending) >= 4 * width:
            break
    while pending:
        chunk, ref = pending.popleft()
        res = _get(ray, ref)
        nxt = next(it, None)
        if nxt is not None:
            pending.append((nxt, probe.remote(nxt, sr, opts.max_duration)))
        for item, p in zip(chunk, res, strict=True):
            if isinstance(p, str):
                fail(item, p)
            else:
                planned.append(p)
    return planned


def _get(ray: Any, ref: Any) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as e:
        raise engine_error(e) from None


def _dataset(
    ray: Any,
    batches: list[list[Planned]],
    target: str,
    recipe: Any,
    sr: int,
    opts: RunOptions,
    lay: Layout,
) -> Any:
    from audiotok.engines.stages import ModelStage, decode_table, plan_table

    rd = ray.data
    ds = rd.from_arrow([plan_table(i, b) for i, b in enumerate(batches)])  # a block per batch
    if lay.decode_tasks:
        # ``memory``: what one decode task holds (the decoded batch, its resampling and the
        # Arrow copy). Being different from the actors' arguments it also keeps Ray Data from
        # fusing this stage into the actors, so decoding overlaps the model.
        batch_bytes = 4 * int(opts.batch_seconds * sr)
        ds = ds.map_batches(
            decode_table,
            batch_size=1,
            batch_format="pyarrow",
            fn_kwargs={"sample_rate": sr, "max_duration": opts.max_duration},
            compute=rd.TaskPoolStrategy(size=min(lay.decode_tasks, len(batches))),
            num_cpus=1,
            memory=3 * batch_bytes + (160 << 20),  # + the worker process itself
        )
    gpu_args = {"num_gpus": lay.num_gpus} if lay.num_gpus > 0 else {}
    return ds.map_batches(
        ModelStage,
        batch_size=1,
        batch_format="pyarrow",
        fn_constructor_kwargs={
            "target": target,
            "recipe": recipe.to_dict(),
            "device": lay.device,
            "threads": lay.threads,
            "decode": lay.decode_tasks == 0,
            "sample_rate": sr,
            "max_duration": opts.max_duration,
        },
        compute=rd.ActorPoolStrategy(size=min(lay.actors, len(batches))),  # none idle
        num_cpus=lay.actor_cpus,
        **gpu_args,
    )


def _iterate(ray: Any, ds: Any) -> Iterator[Any]:
    """The result blocks as they complete; a failure of Ray itself (an actor that cannot be
    built, a lost node past its retries) becomes one AudiotokError."""
    it = iter(ds.iter_batches(batch_format="pyarrow", batch_size=None))
    while True:
        try:
            table = next(it)
        except StopIteration:
            return
        except ray.exceptions.RayError as e:
            raise engine_error(e) from None
        except Exception as e:
            if type(e).__module__.startswith("ray."):
                raise engine_error(e) from None
            raise
        yield table
