"""Tiny causal codecs, built once per session."""

from __future__ import annotations

import pytest
import torch

from stream_tiny import build


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread (as tests/vocoders: two OpenMP threads on a shared 2-core machine
    wait on each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def causal():
    return {name: build(name) for name in ("encodec-24khz", "mimi")}
