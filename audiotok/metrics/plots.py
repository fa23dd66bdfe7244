"""Spectrogram comparison PNGs (reference above decoded), matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def spectrogram_png(
    ref: np.ndarray, deg: np.ndarray, sample_rate: int, dest: str | Path, title: str = ""
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from audiotok.metrics.signal import log_mel

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    mels = [log_mel(x, sample_rate).numpy() for x in (ref, deg)]
    lo, hi = min(m.min() for m in mels), max(m.max() for m in mels)
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True, constrained_layout=True)
    hop_s = 256 / sample_rate
    for ax, m, name in zip(axes, mels, ("reference", "decoded"), strict=True):
        im = ax.imshow(
            m,
            origin="lower",
            aspect="auto",
            vmin=lo,
            vmax=hi,
            cmap="magma",
            extent=(0, m.shape[1] * hop_s, 0, m.shape[0]),
        )
        ax.set_ylabel(f"{name}\nmel bin")
    axes[-1].set_xlabel("time (s)")
    fig.colorbar(im, ax=axes, label="log10 mel magnitude")
    if title:
        fig.suptitle(title)
    fig.savefig(dest, dpi=80)
    plt.close(fig)
    return dest


def plot_pair(ref_path: str, dec_path: str, utt_id: str, out_dir: str | Path) -> Path:
    from audiotok import audio

    ref_sr, dec_sr = audio.probe(ref_path).sample_rate, audio.probe(dec_path).sample_rate
    sr = min(ref_sr, dec_sr)
    ref, deg = audio.read(ref_path, sr), audio.read(dec_path, sr)
    n = min(len(ref), len(deg))
    return spectrogram_png(ref[:n], deg[:n], sr, Path(out_dir) / f"{utt_id}.png", utt_id)
