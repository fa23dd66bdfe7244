"""Equal configs build once: a model class's construction memoised by its validated config.

A model-folder reader (hybrid codec folder, vocoder folder) reads the user's bytes in its
config parser and validation, its size check and its weights loader. Constructing the module
from the validated config reads no user bytes, yet costs most of a call (40-100 ms for a
tiny model: thousands of small ``nn.Module`` objects and their initialisation), so a reader
got 70-300 mutants in its budget. Inside :func:`memo_builds` the class is replaced, where the
loader looks it up, by a builder that returns the module already built for an equal config
(``repr`` of the config dataclass, the arguments and the default device: meta builds and
real builds are kept apart). Everything that reads the mutant still runs on every mutant:
parsing, validation, the size check on the meta device, the safetensors reader and a strict
``load_state_dict``, which writes (or, with ``assign=True``, replaces) every tensor of the
reused module, so a mutant loaded into it meets the checks a fresh module would give it.

One construction in ``real_every`` builds anew even when the config was seen, so the real
construction keeps running on a sample of the mutants; a config that fails to construct is
never cached (its error comes from the real construction every time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

MAX_ENTRIES = 64  # configs kept (tiny models; the oldest goes first)


@dataclass
class BuildStats:
    built: int = 0  # real constructions
    reused: int = 0  # answered from the cache

    def line(self, name: str) -> str:
        return f"{name} builds: {self.built} constructed, {self.reused} reused"


@contextlib.contextmanager
def memo_builds(module: Any, name: str, real_every: int = 25) -> Iterator[BuildStats]:
    """Within the block, ``module.<name>(config, ...)`` is memoised (see the module doc)."""
    cls = getattr(module, name)
    cache: dict[tuple[str, ...], Any] = {}
    stats = BuildStats()
    calls = 0

    def build(config: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        key = (repr(config), repr(args), repr(sorted(kwargs.items())), str(_default_device()))
        if key in cache and calls % real_every:
            stats.reused += 1
            return cache[key]
        model = cls(config, *args, **kwargs)
        stats.built += 1
        cache.pop(key, None)
        cache[key] = model
        while len(cache) > MAX_ENTRIES:
            cache.pop(next(iter(cache)))
        return model

    setattr(module, name, build)
    try:
        yield stats
    finally:
        setattr(module, name, cls)


def _default_device() -> torch.device:
    """The device factory functions allocate on now (``with torch.device("meta")`` sets it)."""
    return torch.empty(0).device
