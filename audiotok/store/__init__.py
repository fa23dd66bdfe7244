"""The sharded-store layer and its two payloads (see docs/architecture.md).

- token stores: :class:`TokenWriter` and :class:`TokenStore`
  (``audiotok.open_tokens``);
- feature stores: :class:`FeatureWriter` and :class:`FeatureStore` (``open_features``).
"""

from audiotok.store.features import FeatureStore, FeatureWriter, open_features
from audiotok.store.reader import TokenStore
from audiotok.store.tokens import TokenWriter

__all__ = [
    "FeatureStore",
    "FeatureWriter",
    "TokenStore",
    "TokenWriter",
    "open_features",
]
