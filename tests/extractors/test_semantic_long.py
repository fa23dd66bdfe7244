"""SemanticTokenizer over an S3M extractor: long files go window by window, same units."""

from __future__ import annotations

import torch

from audiotok.kmeans.codebook import Codebook
from audiotok.semantic import SemanticTokenizer

from s3m_tiny import tiny


def test_encode_long_equals_encode_batch_and_engine_routes_long_files():
    ex = tiny("hubert-group", layers=[2], window_seconds=0.25, context_seconds=0.1)
    torch.manual_seed(0)
    cb = Codebook(torch.randn(20, 32), {"extractor": ex.name, "layer": 2})
    tok = SemanticTokenizer(ex, cb)
    assert tok.long_window_seconds == ex.long_window_seconds
    assert tok.batch_exact
    wav = torch.randn(1, 1, 20_000)  # 1.25 s, longer than the 0.45 s limit
    long_units, n_long = tok.encode_long(wav)
    units, n = tok.encode_batch(wav, torch.tensor([20_000]))
    assert int(n_long[0]) == int(n[0]) == ex.num_frames(20_000)
    assert torch.equal(long_units, units[:, :, : int(n[0])])
    assert len(set(units.flatten().tolist())) > 3  # not a degenerate assignment
