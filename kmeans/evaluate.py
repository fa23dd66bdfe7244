"""``evaluate``: a codebook applied to every utterance of a feature source (or of a corpus),
reporting inertia, usage, entropy, bitrate and, with alignments, phone purity, cluster purity
and PNMI (``metrics``). Utterances are read one at a time; plain arrays in row blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.kmeans.codebook import Codebook
from audiotok.kmeans.metrics import frame_phones, phone_stats, read_alignment, usage_stats

ROW_BLOCK = 1 << 16


def iter_source(source: Any) -> Iterator[tuple[str | None, np.ndarray]]:
    if getattr(source, "rows_are_items", False):
        arr = source.arrays[0]
        for s in range(0, arr.shape[0], ROW_BLOCK):
            yield None, np.asarray(arr[s : s + ROW_BLOCK], dtype=np.float32)
        return
    for i, uid in enumerate(source.ids()):
        yield uid, source.read(i)


def iter_audio(
    inputs: list[str],
    extractor: Any,
    *,
    num_workers: int = 0,
    on_error: Callable[[str, str], None] | None = None,
) -> Iterator[tuple[str | None, np.ndarray]]:
    """(id, features) of each readable file, through the pipeline core; a file that fails is
    reported by ``on_error(path, reason)`` (default: a warning in the log), never dropped
    silently."""
    import logging

    from audiotok.pipeline.api import features_from_audio, scan_inputs
    from audiotok.pipeline.local import RunOptions

    log = logging.getLogger("audiotok.kmeans")
    report = on_error or (lambda path, why: log.warning("skipped %s: %s", path, why))
    items, problems = scan_inputs(inputs)
    for item, why in problems:
        report(item.path, why)
    for item, feats in features_from_audio(
        items,
        extractor,
        options=RunOptions(num_workers=num_workers),
        on_fail=lambda it, why: report(it.path, why),
    ):
        yield item.id, feats


def evaluate(
    codebook: Codebook,
    utterances: Iterator[tuple[str | None, np.ndarray]],
    *,
    frame_rate: float | None = None,
    align_dir: str | Path | None = None,
    window_s: float = 0.025,
    per_utterance: bool = False,
) -> dict[str, Any]:
    """Totals over all utterances (see the module docstring); with ``per_utterance`` also
    ``out["per_utterance"]``: per utterance ``id``, ``frames``, ``inertia_per_frame``,
    ``units_used`` (distinct units) and ``unit_entropy_bits`` (of its own unit histogram)."""
    import torch

    from audiotok.kmeans.assign import nearest

    k = codebook.k
    counts = np.zeros(k, dtype=np.int64)
    inertia = 0.0
    phones: dict[str, int] = {}
    joint = np.zeros((0, k), dtype=np.int64)
    utts = aligned_utts = 0
    rows: list[dict[str, Any]] = []
    align = Path(align_dir) if align_dir else None
    if align is not None and not align.is_dir():
        raise AudiotokError(f"--align {align} is not a directory of <utterance id>.tsv files")
    if align is not None and not frame_rate:
        raise AudiotokError("phone alignment needs the frame rate: pass --frame-rate")
    for uid, f in utterances:
        if len(f) == 0:
            continue
        f = np.ascontiguousarray(f)
        x = torch.from_numpy(f if f.flags.writeable else f.copy())
        if codebook.normalize == "l2":
            x = torch.nn.functional.normalize(x, dim=1)
        lab_t, dist = nearest(x, codebook.centroids, return_dist=True)
        lab = lab_t.cpu().numpy()
        utt_inertia = float(dist.double().sum())
        inertia += utt_inertia
        utt_counts = np.bincount(lab, minlength=k)
        counts += utt_counts
        utts += 1
        if per_utterance:
            u = usage_stats(utt_counts)
            rows.append(
                {
                    "id": uid if uid is not None else f"rows {utts}",
                    "frames": len(lab),
                    "inertia_per_frame": utt_inertia / len(lab),
                    "units_used": u["used"],
                    "unit_entropy_bits": u["entropy_bits"],
                }
            )
        if align is None or uid is None:
            continue
        tsv = align / f"{uid}.tsv"
        if not tsv.is_file():
            continue
        aligned_utts += 1
        assert frame_rate  # checked above: alignments need it
        ph = frame_phones(read_alignment(tsv), len(lab), float(frame_rate), window_s)
        keep = [i for i, p in enumerate(ph) if p is not None]
        ids = np.array([phones.setdefault(ph[i], len(phones)) for i in keep], dtype=np.int64)
        if len(phones) > joint.shape[0]:
            joint = np.vstack([joint, np.zeros((len(phones) - joint.shape[0], k), np.int64)])
        np.add.at(joint, (ids, lab[keep]), 1)
    if utts == 0:
        raise AudiotokError("no features to evaluate")
    usage = usage_stats(counts)
    out: dict[str, Any] = {
        "utterances": utts,
        "inertia": inertia,
        "inertia_per_frame": inertia / max(usage["frames"], 1),
        **usage,
        "frame_rate": frame_rate,
        "bitrate_bps": usage["entropy_bits"] * frame_rate if frame_rate else None,
        "usage": counts.tolist(),
    }
    if per_utterance:
        out["per_utterance"] = rows
    if align is not None:
        if aligned_utts == 0:
            raise AudiotokError(f"no <utterance id>.tsv in {align} matches an utterance id")
        out["aligned_utterances"] = aligned_utts
        out.update(phone_stats(joint))
        out["phone_set"] = sorted(phones, key=phones.__getitem__)
    return out
