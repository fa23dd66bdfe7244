"""Arrow schema of token shards: one row per utterance, raw codes only."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def code_type(num_codebooks: int, codebook_size: int) -> pa.DataType:
    item = pa.uint16() if codebook_size <= 1 << 16 else pa.uint32()
    return pa.list_(item) if num_codebooks == 1 else pa.list_(pa.list_(item))


def schema(num_codebooks: int, codebook_size: int) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("path", pa.string()),
            ("duration_s", pa.float64()),
            ("num_frames", pa.int32()),
            ("codes", code_type(num_codebooks, codebook_size)),
        ]
    )


def codes_to_numpy(value, num_codebooks: int) -> np.ndarray:
    """A shard cell -> int64 array [T] (K = 1) or [K, T]."""
    if num_codebooks == 1:
        return np.asarray(value, dtype=np.int64)
    return np.asarray([np.asarray(row, dtype=np.int64) for row in value]).reshape(num_codebooks, -1)
