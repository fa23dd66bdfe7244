"""K-means codebooks that turn features into semantic units (``audiotok.kmeans``).

    from audiotok import kmeans
    cb = kmeans.train_codebook(feats, 500)        # feats: [N, D] array; see train.train
    cb.save("km500.safetensors"); cb = kmeans.load("km500.safetensors")
    units = cb.assign(feats)                      # exactly the brute-force nearest centroid

Modules: ``codebook`` (file format, identity, feature checks), ``assign`` (exact
assignment), ``lloyd`` (Lloyd loops and their stopping rule), ``backends`` (backend choice,
k-means++ init), ``autoselect`` (``--backend auto`` on CPU, measured), ``train``,
``features`` and ``sampling`` (out-of-core input, memory budget), ``audio_source`` (features
straight from audio), ``sources`` (features or audio: what k-means reads), ``runs`` (train and
evaluate as library calls), ``metrics`` and ``evaluate`` (usage, entropy, PNMI), ``report``
(``kmeans eval --html``), ``io`` (npy / faiss / km.bin), ``plot``.
"""

from __future__ import annotations

from typing import Any

from audiotok.kmeans.codebook import Codebook, load

# (functions whose names are not also submodule names, which would shadow them)
_LAZY = {
    "train_codebook": ("audiotok.kmeans.train", "train"),
    "import_codebook": ("audiotok.kmeans.io", "import_codebook"),
    "export_codebook": ("audiotok.kmeans.io", "export_codebook"),
    "evaluate_codebook": ("audiotok.kmeans.evaluate", "evaluate"),
    "open_features": ("audiotok.kmeans.features", "open_features"),
    "sample_features": ("audiotok.kmeans.sampling", "sample"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'audiotok.kmeans' has no attribute {name!r}")


__all__ = ["Codebook", "load", *_LAZY]
