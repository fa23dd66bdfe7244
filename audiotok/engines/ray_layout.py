"""What a Ray run asks of the cluster: :class:`RayOptions` (the command line's say) and the
:class:`Layout` (actors, GPUs and decode tasks) that :func:`layout_for` derives from the
cluster's resources. Plain Python: no Ray here (``engines/ray.py`` makes every Ray call)."""

from __future__ import annotations

from dataclasses import dataclass

from audiotok.errors import AudiotokError


@dataclass
class RayOptions:
    """Where and how wide the Ray engine runs.

    ``address``: None starts a local Ray on this machine (``num_cpus`` CPUs, default all);
    ``"auto"`` or ``"ray://host:10001"`` connects to a running cluster. ``actors``: model
    actors (default: one per ``num_gpus`` of the cluster's GPUs, or on CPUs as many as fit
    with their decode tasks). ``num_gpus``: per actor (default 1 where the cluster has GPUs,
    else 0: CPU actors; 0.5 puts two actors on each GPU). ``actor_cpus``: CPUs each actor
    reserves (its torch threads: at least 1)."""

    address: str | None = None
    actors: int | None = None
    num_gpus: float | None = None
    actor_cpus: float = 1.0
    num_cpus: int | None = None
    object_store_memory: int | None = None

    def check(self) -> None:
        if self.actors is not None and self.actors < 1:
            raise AudiotokError(f"--actors must be >= 1, got {self.actors}")
        if self.num_gpus is not None and self.num_gpus < 0:
            raise AudiotokError(f"--num-gpus must be >= 0, got {self.num_gpus:g}")
        if not self.actor_cpus > 0:
            raise AudiotokError(f"actor CPUs must be > 0, got {self.actor_cpus:g}")


@dataclass(frozen=True)
class Layout:
    """What the run asks of the cluster."""

    actors: int
    num_gpus: float  # per actor
    actor_cpus: float
    decode_tasks: int  # 0: each actor decodes its own batches
    device: str

    @property
    def threads(self) -> int:
        return max(1, int(self.actor_cpus))

    def describe(self) -> str:
        where = f"{self.num_gpus:g} GPU" if self.num_gpus else f"{self.actor_cpus:g} CPU"
        dec = f"{self.decode_tasks} decode tasks" if self.decode_tasks else "decoding in actors"
        return f"{self.actors} actor(s) x {where}, {dec}"


def layout_for(
    cpus: float,
    gpus: float,
    opts: RayOptions,
    workers_per_actor: int,
    *,
    fixed: bool,
) -> tuple[Layout, str | None]:
    """The layout for a cluster of ``cpus`` and ``gpus``, and a warning when it does not fit
    (an error where the cluster cannot grow: ``fixed``, a Ray started by this run)."""
    num_gpus = opts.num_gpus if opts.num_gpus is not None else (1.0 if gpus >= 1 else 0.0)
    if num_gpus > 0:
        actors = opts.actors or max(1, int(gpus // num_gpus))
    else:
        actors = opts.actors or max(1, int(cpus // (opts.actor_cpus + workers_per_actor)))
    lay = Layout(
        actors=actors,
        num_gpus=num_gpus,
        actor_cpus=opts.actor_cpus,
        decode_tasks=actors * workers_per_actor,
        device="cuda" if num_gpus > 0 else "cpu",
    )
    need_cpus = actors * opts.actor_cpus + (1 if lay.decode_tasks else 0)
    problem = None
    if num_gpus > 0 and actors * num_gpus > gpus:
        problem = (
            f"{actors} actor(s) x --num-gpus {num_gpus:g} need {actors * num_gpus:g} GPUs; "
            f"the cluster has {gpus:g} (lower --actors, or --num-gpus 0 for CPU actors)"
        )
    elif need_cpus > cpus:
        problem = (
            f"{actors} actor(s) x {opts.actor_cpus:g} CPU plus a decode task need "
            f"{need_cpus:g} CPUs; the cluster has {cpus:g} (lower --actors, or --num-workers 0 "
            "to decode inside the actors)"
        )
    if problem and fixed:
        raise AudiotokError(problem)
    return lay, problem
