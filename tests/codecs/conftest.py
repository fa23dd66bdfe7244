"""Tiny random-weight codecs of every backend, built once per test session."""

from __future__ import annotations

import pytest
import torch

from codec_tiny import BACKENDS, build


@pytest.fixture(scope="session")
def codecs():
    torch.set_num_threads(2)
    return {name: build(name) for name in BACKENDS}
