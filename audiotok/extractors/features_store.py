"""Feature stores moved to :mod:`audiotok.store.features` (one store layer for tokens and
features); this module keeps the old import path working."""

from audiotok.store.features import (
    HEADER_KEYS,
    FeatureStore,
    FeatureWriter,
    layer_dir,
    open_features,
)

__all__ = ["HEADER_KEYS", "FeatureStore", "FeatureWriter", "layer_dir", "open_features"]
