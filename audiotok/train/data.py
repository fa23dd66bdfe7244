"""Batches indexed by training step, through ``DistributedSampler``, for exact resume.

Epoch ``e`` shuffles the dataset with ``DistributedSampler(seed=seed)`` and ``set_epoch(e)``
(each rank gets its own share, ``drop_last``), cuts this rank's share into batches of
``batch_size`` (the incomplete one dropped), so step ``s`` is batch ``s % steps_per_epoch`` of
epoch ``s // steps_per_epoch`` on every run: resuming at step ``s`` needs no saved loader
state. The dataset is indexed by ``(epoch, index)`` so that random choices inside an item
(segment offsets) can be seeded by both and do not depend on worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler


def steps_per_epoch(num_items: int, batch_size: int, world_size: int = 1) -> int:
    return (num_items // world_size) // batch_size


def step_batches(
    dataset: Dataset,
    *,
    batch_size: int,
    seed: int,
    start_step: int = 0,
    rank: int = 0,
    world_size: int = 1,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    num_workers: int = 0,
) -> Iterator[Any]:
    """Endless batches from ``start_step`` on (see the module docstring)."""
    n = len(dataset)  # type: ignore[arg-type]
    spe = steps_per_epoch(n, batch_size, world_size)
    if spe < 1:
        from audiotok.errors import AudiotokError

        raise AudiotokError(
            f"{n} training items cannot fill one batch of {batch_size} per process "
            f"({world_size} process(es)): lower --batch-size or add data"
        )
    epoch, pos = divmod(start_step, spe)
    while True:
        sampler: DistributedSampler = DistributedSampler(
            dataset,  # type: ignore[arg-type]
            num_replicas=world_size,
            rank=rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        sampler.set_epoch(epoch)
        order = list(sampler)
        batches = [
            [(epoch, i) for i in order[b * batch_size : (b + 1) * batch_size]] for b in range(spe)
        ]
        loader = DataLoader(
            dataset,
            batch_sampler=batches[pos:],
            collate_fn=collate_fn,
            num_workers=num_workers,
            # an own generator: creating the loader must not draw from the global RNG
            generator=torch.Generator().manual_seed(seed + epoch),
        )
        yield from loader
        epoch, pos = epoch + 1, 0
