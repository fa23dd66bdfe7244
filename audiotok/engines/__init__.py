"""Engines beyond the local one (see docs/scale.md). An engine only streams the batches of a
run (:class:`audiotok.pipeline.engine.Engine`); the store, the failure policy, the run summary,
slices and merges are the pipeline's (:mod:`audiotok.pipeline`).

- :mod:`audiotok.engines.ray`: the Ray Data engine (every Ray call lives there);
- :mod:`audiotok.engines.stages`: the stages it runs, as plain functions on Arrow tables;
- :mod:`audiotok.engines.ray_layout` (what a run asks of the cluster) and
  :mod:`audiotok.engines.ray_errors` (one line for a failure of Ray): plain Python.

Nothing here imports Ray or torch until it is used.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "RayEngine": "audiotok.engines.ray",
    "RayOptions": "audiotok.engines.ray_layout",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = sorted(_LAZY)
