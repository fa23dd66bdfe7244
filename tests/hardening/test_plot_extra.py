"""``kmeans eval --plot`` without matplotlib: one line naming the extra (issue 8)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from audiotok.errors import AudiotokError
from audiotok.kmeans import plot


@pytest.mark.parametrize("missing", ["matplotlib", "matplotlib.pyplot"])
def test_without_matplotlib_the_error_names_the_extra(monkeypatch, tmp_path, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import` raise ImportError
    msg = "matplotlib not installed: pip install 'audiotok\\[eval\\]'"
    with pytest.raises(AudiotokError, match=msg):
        plot.require_matplotlib()
    with pytest.raises(AudiotokError, match=msg):
        plot.plot_usage(np.array([3, 0, 1]), tmp_path / "u.png")
    assert not (tmp_path / "u.png").exists()


def test_with_matplotlib_the_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib", reason="the [eval] extra is not installed")
    out = plot.plot_usage(np.array([30, 0, 12, 5]), tmp_path / "u.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
