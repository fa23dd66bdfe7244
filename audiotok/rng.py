"""Seeded random initialisation that leaves the caller's random streams as they were.

Building a model with random weights (tests, the architectures of codecs before their weights
load) draws from torch's global generator through ``nn.Module`` initialisers. Inside
:func:`seeded` those draws come from a forked CPU generator seeded with ``seed``; on exit the
caller's generator state is restored, so a training script that seeded first keeps its stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
