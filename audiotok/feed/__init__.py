"""Feeding tokens to language models: vocabulary spec, codebook patterns, PyTorch datasets and
exporters (``audiotok export``).

    from audiotok.feed import TokenIterableDataset, StatefulLoader
    ds = TokenIterableDataset("tokens/", pattern="flatten", dedup=True, context_length=1024)
    for batch in StatefulLoader(ds, num_workers=4): ...

Names are imported on first use: ``import audiotok.feed`` loads neither torch nor pyarrow.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "VocabSpec": "audiotok.feed.vocab",
    "StreamSpec": "audiotok.feed.vocab",
    "VocabError": "audiotok.feed.vocab",
    "PATTERNS": "audiotok.feed.patterns",
    "get_pattern": "audiotok.feed.patterns",
    "FeedEncoder": "audiotok.feed.encoder",
    "TokenSource": "audiotok.feed.source",
    "InMemorySource": "audiotok.feed.source",
    "StoreSource": "audiotok.feed.source",
    "as_source": "audiotok.feed.source",
    "JoinedSource": "audiotok.feed.align",
    "align": "audiotok.feed.align",
    "dedup": "audiotok.feed.dedup",
    "expand": "audiotok.feed.dedup",
    "TokenDataset": "audiotok.feed.dataset",
    "TokenIterableDataset": "audiotok.feed.iterable",
    "StatefulLoader": "audiotok.feed.iterable",
    "pad_collate": "audiotok.feed.collate",
    "block_causal_mask": "audiotok.feed.collate",
    "LengthBucketSampler": "audiotok.feed.collate",
    "split_ids": "audiotok.feed.split",
    "export": "audiotok.feed.exporters",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'audiotok.feed' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
