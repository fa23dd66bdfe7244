"""The token store: Parquet shards + manifest.json (see docs/architecture.md)."""

from audiotok.store.reader import TokenStore
from audiotok.store.writer import StoreWriter

__all__ = ["StoreWriter", "TokenStore"]
