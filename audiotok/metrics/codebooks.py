"""Which codebooks carry phonetic content: PNMI, phone purity and unit entropy of every codebook
of a multi-codebook token store alone, and of every prefix of codebooks taken jointly.

For codes ``[K, T']`` per utterance at ``frame_rate`` and phone alignments (a folder of
``<utterance id>.tsv`` with ``start<TAB>end<TAB>phone``, read by
:func:`audiotok.kmeans.metrics.read_alignment`), each frame is labelled with the phone whose
segment holds its centre (frame j covers ``[j, j + 1) / frame_rate``, centre
``(j + 1/2) / frame_rate``; :func:`audiotok.kmeans.metrics.frame_phones`). Then, with the
definitions of :mod:`audiotok.kmeans.metrics` (HuBERT's cluster-quality measures):

- codebook k alone: the unit is code ``c_k``;
- prefix k: the unit is the tuple ``(c_0, ..., c_k)``. Its space (``size^(k+1)``) is never
  materialised: tuples get ids incrementally (``id_k = unique(id_{k-1} * size + c_k)``) and
  the (phone, unit) pairs are counted sparsely.

Multi-rate stores (SNAC) are read in their ``[K, T']`` layout at the finest rate: a code of a
coarse codebook labels every finest frame it spans, so all codebooks are measured on one time
grid, each code weighted by its span.

PNMI and purities use the frames inside a phone segment; unit entropy (bits per frame) uses
every frame of the aligned utterances. Utterances without an alignment file are skipped.
Memory: the codes of the aligned utterances (2 bytes per frame and codebook) plus 8 bytes per
frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.kmeans.metrics import (
    frame_phone_stats,
    frame_phones,
    phone_stats,
    read_alignment,
    usage_stats,
)


def _entropy_bits(units: np.ndarray) -> float:
    counts = np.unique(units, return_counts=True)[1]
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _gather(
    utterances: Iterable[tuple[str, np.ndarray]], align: Path, frame_rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], int, int]:
    """(codes [K, N] of aligned utterances, phone id per frame (-1 outside), mask of labelled
    frames, phone names, utterances seen, utterances aligned)."""
    codes, labels = [], []
    names: dict[str, int] = {}
    seen = aligned = 0
    k = None
    for uid, c in utterances:
        c = np.atleast_2d(np.asarray(c))
        seen += 1
        if k is None:
            k = c.shape[0]
        elif c.shape[0] != k:
            raise AudiotokError(f"utterance {uid} has {c.shape[0]} codebooks, others {k}")
        tsv = align / f"{uid}.tsv"
        if c.shape[1] == 0 or not tsv.is_file():
            continue
        aligned += 1
        ph = frame_phones(read_alignment(tsv), c.shape[1], frame_rate, 1.0 / frame_rate)
        labels.append(np.array([-1 if p is None else names.setdefault(p, len(names)) for p in ph]))
        codes.append(c.astype(np.int64 if c.dtype.kind == "i" else c.dtype))
    if seen == 0:
        raise AudiotokError("no utterances to probe")
    if aligned == 0:
        raise AudiotokError(f"no <utterance id>.tsv in {align} matches an utterance id")
    phone_ids = np.concatenate(labels)
    return np.concatenate(codes, axis=1), phone_ids, phone_ids >= 0, list(names), seen, aligned


def probe_codebooks(
    utterances: Iterable[tuple[str, np.ndarray]],
    align_dir: str | Path,
    frame_rate: float,
    *,
    codebook_size: int | None = None,
    max_prefix: int | None = None,
) -> dict[str, Any]:
    """PNMI, purities and unit entropy of each codebook alone and of each prefix.

    utterances: ``(utterance id, codes [K, T'])`` pairs (``[T']`` is read as K=1);
    codebook_size: entries per codebook (default: the largest code + 1), for usage counts;
    max_prefix: the longest prefix to score (default K).
    """
    align = Path(align_dir)
    if not align.is_dir():
        raise AudiotokError(f"--align {align} is not a directory of <utterance id>.tsv files")
    if not frame_rate or frame_rate <= 0:
        raise AudiotokError("phone alignment needs the frame rate of the codes")
    codes, phone_ids, labelled, names, seen, aligned = _gather(utterances, align, frame_rate)
    k_total = codes.shape[0]
    size = int(codebook_size or int(codes.max()) + 1)
    if codes.size and int(codes.max()) >= size:
        raise AudiotokError(f"a code is {int(codes.max())}, outside a codebook of {size} entries")
    y = phone_ids[labelled]
    alone, prefixes = [], []
    unit_ids = np.zeros(codes.shape[1], dtype=np.int64)
    for k in range(k_total):
        c = codes[k].astype(np.int64)
        usage = usage_stats(np.bincount(c, minlength=size))
        joint = np.zeros((len(names), size), dtype=np.int64)
        np.add.at(joint, (y, c[labelled]), 1)
        alone.append(
            {
                "codebook": k,
                **phone_stats(joint),
                **{key: usage[key] for key in ("used", "dead", "entropy_bits", "perplexity")},
            }
        )
        if max_prefix is not None and k >= max_prefix:
            continue
        unit_ids = np.unique(unit_ids * size + c, return_inverse=True)[1].reshape(-1)
        h = _entropy_bits(unit_ids)
        prefixes.append(
            {
                "codebooks": k + 1,
                **frame_phone_stats(y, unit_ids[labelled]),
                "used": int(unit_ids.max()) + 1,
                "entropy_bits": h,
                "perplexity": float(2.0**h),
            }
        )
    return {
        "frame_rate": frame_rate,
        "num_codebooks": k_total,
        "codebook_size": size,
        "utterances": seen,
        "aligned_utterances": aligned,
        "frames": int(codes.shape[1]),
        "aligned_frames": int(labelled.sum()),
        "phone_set": names,
        "codebooks": alone,
        "prefixes": prefixes,
    }


def _store_utterances(store: Any) -> Iterator[tuple[str, np.ndarray]]:
    for uid, codes in store:
        yield uid, np.atleast_2d(np.asarray(codes))


def probe_store(
    tokens: str | Path | Any, align_dir: str | Path, *, max_prefix: int | None = None
) -> dict[str, Any]:
    """:func:`probe_codebooks` of a token store (a folder, or an opened ``TokenStore``): its
    frame rate, codebook size and ``semantic_codebooks`` come from the store's spec."""
    if isinstance(tokens, (str, Path)):
        from audiotok import open_tokens

        store = open_tokens(str(tokens))
    else:
        store = tokens
    spec = store.spec
    out = probe_codebooks(
        _store_utterances(store),
        align_dir,
        float(spec.frame_rate),
        codebook_size=int(spec.codebook_size),
        max_prefix=max_prefix,
    )
    return {"name": spec.name, "semantic_codebooks": list(spec.semantic_codebooks), **out}


def format_table(result: dict[str, Any]) -> str:
    """The probe as a text table: one row per codebook, alone and as the end of a prefix."""
    semantic = set(result.get("semantic_codebooks", []))
    head = (
        f"{'codebook':>8}  {'PNMI':>6} {'purity':>6} {'H bits':>6} {'used':>6}   "
        f"{'prefix':>6}  {'PNMI':>6} {'purity':>6} {'H bits':>6}"
    )
    lines = [head, "-" * len(head)]
    prefixes = {p["codebooks"]: p for p in result["prefixes"]}
    for a in result["codebooks"]:
        k = a["codebook"]
        mark = "*" if k in semantic else " "
        row = (
            f"{k:>7}{mark}  {a['pnmi']:6.3f} {a['phone_purity']:6.3f} "
            f"{a['entropy_bits']:6.2f} {a['used']:6d}"
        )
        p = prefixes.get(k + 1)
        if p is not None:
            row += (
                f"   0..{k:<3d}  {p['pnmi']:6.3f} {p['phone_purity']:6.3f} {p['entropy_bits']:6.2f}"
            )
        lines.append(row)
    lines.append(
        f"{result['aligned_frames']} aligned frames of {result['aligned_utterances']} "
        f"utterances at {result['frame_rate']:g} Hz, {len(result['phone_set'])} phones"
        + ("; * semantic codebook" if semantic else "")
    )
    return "\n".join(lines)


def plot_codebooks(result: dict[str, Any], dest: str | Path, title: str = "") -> Path:
    """PNG of PNMI per codebook alone and per prefix (matplotlib, the ``eval`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    alone = [a["pnmi"] for a in result["codebooks"]]
    prefix = [p["pnmi"] for p in result["prefixes"]]
    fig, ax = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
    ax.plot(range(len(alone)), alone, "o-", label="codebook alone")
    ax.plot(range(len(prefix)), prefix, "s--", label="codebooks 0..k jointly")
    for k in result.get("semantic_codebooks", []):
        ax.axvline(k, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("codebook k")
    ax.set_ylabel("PNMI")
    ax.set_ylim(0, 1)
    ax.set_xticks(range(len(alone)))
    ax.legend()
    ax.set_title(title or str(result.get("name", "")))
    fig.savefig(dest, dpi=120)
    plt.close(fig)
    return dest
