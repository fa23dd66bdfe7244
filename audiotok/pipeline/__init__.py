"""The pipeline core: plan -> load -> batch function -> sink (see docs/architecture.md).

- :mod:`audiotok.pipeline.plan`: header probes (one probe of a corpus) and length buckets;
- :mod:`audiotok.pipeline.load`: worker processes that decode and resample (no torch);
- :mod:`audiotok.pipeline.batch`: the pure batch functions, built from recipes;
- :mod:`audiotok.pipeline.sinks`: store and in-memory sinks;
- :mod:`audiotok.pipeline.local`: the failure policy and run summary, and the local engine;
- :mod:`audiotok.pipeline.engine`: the engine protocol (streaming only) and ``--engine``;
- :mod:`audiotok.pipeline.slices`: corpus slices (``--slice i/N``);
- :mod:`audiotok.pipeline.merge`: stores (slices) of one tokenizer into one;
- :mod:`audiotok.pipeline.api`: ``encode_corpus`` / ``extract_corpus`` (every engine, any
  slice) and features straight from audio.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "encode_corpus": "audiotok.pipeline.api",
    "extract_corpus": "audiotok.pipeline.api",
    "features_from_audio": "audiotok.pipeline.api",
    "scan_inputs": "audiotok.pipeline.api",
    "CorpusSlice": "audiotok.pipeline.slices",
    "parse_slice": "audiotok.pipeline.slices",
    "Engine": "audiotok.pipeline.engine",
    "engine_for": "audiotok.pipeline.engine",
    "LocalEngine": "audiotok.pipeline.local",
    "merge_stores": "audiotok.pipeline.merge",
    "Events": "audiotok.pipeline.local",
    "RunOptions": "audiotok.pipeline.local",
    "RunSummary": "audiotok.pipeline.local",
    "TokenBatchFn": "audiotok.pipeline.batch",
    "FeatureBatchFn": "audiotok.pipeline.batch",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = sorted(_LAZY)
