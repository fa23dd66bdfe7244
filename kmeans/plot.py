"""The usage histogram of a codebook (``audiotok kmeans eval --plot usage.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def require_matplotlib() -> None:
    """Raise the one-line AudiotokError now (before any work) when --plot cannot be drawn."""
    _pyplot()


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from audiotok.errors import AudiotokError

        raise AudiotokError(
            "matplotlib not installed: pip install 'audiotok[eval]' (needed by --plot)"
        ) from None
    return plt


def plot_usage(counts: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Frames per unit, units sorted by use (log scale), with the uniform share marked.

    Needs matplotlib (the ``eval`` extra); without it, an AudiotokError saying what to install.
    """
    plt = _pyplot()
    counts = np.asarray(counts, dtype=np.int64)
    order = np.sort(counts)[::-1]
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=120)
    ax.bar(np.arange(len(order)), np.maximum(order, 0.5), width=1.0, color="#3b6ea5")
    ax.axhline(counts.sum() / max(len(counts), 1), color="#c0392b", lw=1, label="uniform share")
    ax.set_yscale("log")
    ax.set_xlabel("unit (sorted by frames)")
    ax.set_ylabel("frames")
    dead = int((counts == 0).sum())
    ax.set_title(title or f"k={len(counts)}, {dead} dead unit(s)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p)
    plt.close(fig)
    return p
