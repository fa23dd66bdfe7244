"""Engines beyond the local one (see docs/scale.md).

- :mod:`audiotok.engines.corpus`: ``encode_corpus`` / ``extract_corpus`` with
  ``engine="local" | "ray"`` and an optional ``--shard i/N`` slice;
- :mod:`audiotok.engines.ray`: the Ray Data engine (every Ray call lives there);
- :mod:`audiotok.engines.stages`: the stages it runs, as plain functions on Arrow tables;
- :mod:`audiotok.engines.shard`: deterministic, length-balanced static slices;
- :mod:`audiotok.engines.merge`: stores of one tokenizer (or extractor) into one.

Nothing here imports Ray or torch until it is used.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "encode_corpus": "audiotok.engines.corpus",
    "extract_corpus": "audiotok.engines.corpus",
    "RayOptions": "audiotok.engines.ray",
    "Shard": "audiotok.engines.shard",
    "parse_shard": "audiotok.engines.shard",
    "merge_stores": "audiotok.engines.merge",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = sorted(_LAZY)
