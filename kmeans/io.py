"""Import and export of centroids: ``.npy``, faiss indexes, fairseq/joblib ``km.bin``.

fairseq's ``examples/hubert/simple_kmeans/learn_kmeans.py`` saves the fitted sklearn
``MiniBatchKMeans`` with ``joblib.dump``, a pickle: loading it runs code from the file, so
it is read only with ``allow_pickle=True`` (CLI ``--allow-pickle``), and only its
``cluster_centers_`` are kept, converted once to a safetensors codebook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError, UnsafeCheckpointError
from audiotok.kmeans.codebook import Codebook

PICKLE_SUFFIXES = (".bin", ".pkl", ".pickle", ".joblib")
FAISS_SUFFIXES = (".index", ".faiss", ".ivecs")


def _codebook(c: np.ndarray, src: Path, fmt: str, meta: dict[str, Any] | None) -> Codebook:
    import torch

    from audiotok.weights import sha256_file

    c = np.asarray(c)
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] < 1:
        raise AudiotokError(f"{src}: expected centroids of shape [k, dim], got {c.shape}")
    if c.dtype.kind not in "fiu":
        raise AudiotokError(f"{src}: expected real-valued centroids, got {c.dtype}")
    if not np.isfinite(c).all():
        raise AudiotokError(f"{src}: the centroids contain NaN or infinite values")
    header = {
        "normalize": "none",
        **(meta or {}),
        "imported_from": {"file": src.name, "format": fmt, "sha256": sha256_file(src)},
    }
    return Codebook(torch.from_numpy(np.ascontiguousarray(c, dtype=np.float32)), header)


def import_codebook(
    path: str | Path, *, allow_pickle: bool = False, meta: dict[str, Any] | None = None
) -> Codebook:
    """A Codebook from ``.npy`` centroids, a faiss index, a pickled sklearn k-means (opt-in),
    or an audiotok ``.safetensors`` codebook. ``meta`` fills the header (extractor, layer...)."""
    from audiotok.kmeans.codebook import load

    p = Path(path)
    if not p.is_file():
        raise AudiotokError(f"{p} does not exist")
    suffix = p.suffix.lower()
    if suffix == ".safetensors":
        cb = load(p)
        cb.meta.update({k: v for k, v in (meta or {}).items() if v is not None})
        return cb
    if suffix == ".npy":
        return _codebook(_read_npy(p), p, "npy", meta)
    if suffix in FAISS_SUFFIXES:
        return _codebook(_faiss_centroids(p), p, "faiss", meta)
    if suffix in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{p} is a pickle (fairseq/joblib km.bin): unpickling runs code from the file. "
                "If you trust it, pass --allow-pickle (allow_pickle=True) to convert it once "
                "to a safetensors codebook"
            )
        return _codebook(_pickle_centroids(p), p, "sklearn-pickle", meta)
    raise AudiotokError(
        f"{p}: unknown codebook format {suffix!r}; use .npy, .safetensors, a faiss index "
        f"({', '.join(FAISS_SUFFIXES)}) or a pickled km.bin with --allow-pickle"
    )


def _read_npy(p: Path) -> np.ndarray:
    """A ``.npy`` array, its header checked against the file size before any allocation
    (memory-mapped first: a header claiming more data than the file holds fails there)."""
    try:
        return np.array(np.load(p, mmap_mode="r", allow_pickle=False))
    except Exception as e:  # noqa: BLE001 - numpy's header parser raises ValueError,
        # SyntaxError, tokenize.TokenError, EOFError... on a damaged file
        why = " ".join(str(e).split())[:120]
        raise AudiotokError(
            f"{p} is not a readable .npy array ({type(e).__name__}: {why})"
        ) from None


def _faiss_centroids(p: Path) -> np.ndarray:
    import faiss

    index = faiss.read_index(str(p))
    try:
        return index.reconstruct_n(0, index.ntotal)
    except RuntimeError as e:
        raise AudiotokError(f"{p}: this faiss index cannot return its vectors ({e})") from None


def _pickle_centroids(p: Path) -> np.ndarray:
    # fairseq's km.bin is joblib.dump of a scikit-learn MiniBatchKMeans: unpickling needs
    # both (joblib's array records, sklearn's class), so plain pickle is no fallback
    try:
        import joblib
        import sklearn  # noqa: F401 - the pickled class lives there
    except ImportError as e:
        raise AudiotokError(
            f"{p}: reading a km.bin needs {e.name}: pip install 'audiotok[sklearn]'"
        ) from None
    model = joblib.load(p)  # the user opted in with allow_pickle
    c = getattr(model, "cluster_centers_", None)
    if c is None:
        raise AudiotokError(
            f"{p}: the pickle holds a {type(model).__name__}, not a fitted "
            "k-means with cluster_centers_"
        )
    return np.asarray(c)


def export_codebook(cb: Codebook, path: str | Path) -> Path:
    """Write the centroids as ``.npy``, a faiss flat index (``.index``/``.faiss``: inner
    product for spherical codebooks, L2 otherwise), or a ``.safetensors`` codebook."""
    p = Path(path)
    c = cb.centroids.detach().cpu().float().numpy()
    suffix = p.suffix.lower()
    if suffix == ".npy":
        np.save(p, c)
    elif suffix in (".index", ".faiss"):
        import faiss

        index = faiss.IndexFlatIP(cb.dim) if cb.meta.get("spherical") else faiss.IndexFlatL2(cb.dim)
        index.add(np.ascontiguousarray(c))
        faiss.write_index(index, str(p))
    elif suffix == ".safetensors":
        cb.save(p)
    else:
        raise AudiotokError(f"{p}: export to .npy, .index/.faiss or .safetensors")
    return p
