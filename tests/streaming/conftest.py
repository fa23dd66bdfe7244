"""Tiny causal codecs, built once per session."""

from __future__ import annotations

import pytest
import torch

from stream_tiny import build


@pytest.fixture(scope="session")
def causal():
    torch.set_num_threads(2)
    return {name: build(name) for name in ("encodec-24khz", "mimi")}
