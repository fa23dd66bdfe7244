"""The report's PNGs (matplotlib, Agg backend: no display needed).

- :func:`spectrogram_pair`: log-magnitude spectrograms of reference and decoded audio side by
  side on one colour scale (STFT with a 25 ms Hann window, 10 ms hop, dB re the pair's
  maximum, floored 80 dB below it), or the reference alone where nothing was decoded;
- :func:`usage_histogram`: frames per unit of one codebook, units sorted by use, log scale,
  the uniform share marked, with used/dead units and entropy in the title;
- :func:`pnmi_plot`: PNMI per codebook (bars) and of each prefix of codebooks (line).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def stft_db(wav: np.ndarray, sr: int) -> np.ndarray:
    """[freq, frames] magnitude in dB (unreferenced) of a mono float signal."""
    win = int(round(0.025 * sr))
    hop = max(1, int(round(0.010 * sr)))
    n_fft = 1 << max(0, win - 1).bit_length()
    x = np.asarray(wav, dtype=np.float64)
    if len(x) < win:
        x = np.pad(x, (0, win - len(x)))
    frames = 1 + (len(x) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(win)[None], n=n_fft, axis=1)).T
    return 20.0 * np.log10(np.maximum(spec, 1e-10))


def spectrogram_pair(
    ref: tuple[np.ndarray, int] | None,
    dec: tuple[np.ndarray, int] | None,
    path: Path,
    *,
    title: str = "",
) -> Path:
    """``ref``/``dec``: (mono samples, sample rate) or None. One shared dB scale."""
    plt = _plt()
    panels = [(n, a) for n, a in (("reference", ref), ("decoded", dec)) if a is not None]
    if not panels:
        raise ValueError("spectrogram_pair needs at least one signal")
    specs = [(n, stft_db(w, sr), sr, len(w) / sr) for n, (w, sr) in panels]
    top = max(float(s.max()) for _, s, _, _ in specs)
    n = len(specs)
    fig = plt.figure(figsize=(5.6 * n + 0.9, 2.8), dpi=100)
    w = 5.6 * n + 0.9  # fixed margins (inches): one draw, no tight-layout pass
    im = None
    for i, (name, s, sr, dur) in enumerate(specs):
        ax = fig.add_axes(((0.6 + 5.6 * i) / w, 0.17, 4.7 / w, 0.72))
        im = ax.imshow(
            s - top,
            origin="lower",
            aspect="auto",
            extent=(0.0, dur, 0.0, sr / 2000.0),
            vmin=-80.0,
            vmax=0.0,
            cmap="magma",
            interpolation="nearest",
        )
        ax.set_title(f"{name} ({sr} Hz)", fontsize=10)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("frequency (kHz)")
    cax = fig.add_axes(((5.6 * n + 0.05) / w, 0.17, 0.12 / w, 0.72))
    fig.colorbar(im, cax=cax, label="dB")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.savefig(path)
    plt.close(fig)
    return path


def usage_histogram(counts: Sequence[int] | np.ndarray, path: Path, *, title: str = "") -> Path:
    plt = _plt()
    c = np.asarray(counts, dtype=np.int64)
    order = np.sort(c)[::-1]
    n = int(c.sum())
    p = c[c > 0] / max(n, 1)
    h = float(-(p * np.log2(p)).sum()) if n else 0.0
    fig, ax = plt.subplots(figsize=(7.5, 2.6), dpi=100)
    ax.bar(np.arange(len(order)), np.maximum(order, 0.5), width=1.0, color="#3b6ea5")
    ax.axhline(n / max(len(c), 1), color="#c0392b", lw=1, label="uniform share")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.4)  # dead units are drawn at 0.5; used ones start from there
    ax.set_xlim(-0.5, max(len(c), 1) - 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("unit (sorted by frames)")
    ax.set_ylabel("frames")
    ax.set_title(
        f"{title + ': ' if title else ''}{int((c > 0).sum())} of {len(c)} units used, "
        f"entropy {h:.2f} of {np.log2(max(len(c), 1)):.2f} bits",
        fontsize=10,
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def pnmi_plot(
    per_codebook: Sequence[float] | None,
    per_prefix: Sequence[float] | None,
    path: Path,
    *,
    labels: Sequence[str] | None = None,
) -> Path:
    """Bars: PNMI of each codebook alone; line: PNMI of codebooks 1..i together."""
    plt = _plt()
    n = max(len(per_codebook or ()), len(per_prefix or ()))
    x = np.arange(1, n + 1)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * n + 2.5), 3.0), dpi=100)
    if per_codebook:
        ax.bar(x[: len(per_codebook)], per_codebook, color="#3b6ea5", label="codebook alone")
    if per_prefix:
        ax.plot(x[: len(per_prefix)], per_prefix, "o-", color="#c0392b", label="codebooks 1..i")
    ax.set_xticks(x)
    if labels is not None and len(labels) == n:
        ax.set_xticklabels(labels, rotation=45 if n > 8 else 0, ha="right" if n > 8 else "center")
    ax.set_xlabel("codebook")
    ax.set_ylabel("PNMI")
    ax.set_ylim(0, 1.05)  # room for points at PNMI 1
    ax.grid(axis="y", alpha=0.3)
    # above the axes: inside, it hid the bars and points it names
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
