"""``kmeans train`` and ``kmeans eval`` as library calls: source, budget, training or
evaluation, and the HTML report, so the CLI (and training code, and the Ray engine) only
parse options and print.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiotok.kmeans.codebook import Codebook
from audiotok.kmeans.sources import Source, TrainingSample, open_source

log = logging.getLogger("audiotok.kmeans")


def train_inputs(
    inputs: Sequence[str | Path],
    k: int,
    *,
    model: str | None = None,
    layer: int | None = None,
    extractor: str | None = None,
    split: str | None = None,
    frame_rate: float | None = None,
    max_hours: float | None = None,
    max_memory_gb: float = 8.0,
    device: str = "auto",
    seed: int = 0,
    note: Callable[[str], None] | None = None,
    **train_options: Any,
) -> tuple[Codebook, TrainingSample]:
    """Open the inputs (``sources.open_source``), draw a seeded sample within the budget,
    and train a k-means codebook on it (``train.train``: backend, niter, tol, nredo, init,
    spherical, normalize); ``note`` receives what was sampled, as it happens."""
    from audiotok.kmeans.sampling import working_memory_mb
    from audiotok.kmeans.train import train

    src = open_source(
        inputs,
        model=model,
        layer=layer,
        extractor=extractor,
        split=split,
        frame_rate=frame_rate,
        device=device,
    )
    drawn = src.sample(max_memory_gb=max_memory_gb, max_hours=max_hours, seed=seed)
    l2 = train_options.get("spherical") or train_options.get("normalize") == "l2"
    for line in [
        *drawn.notes,
        f"k-means working memory beyond the sample: about "
        f"{working_memory_mb(k, drawn.info.dim):.0f} MB"
        + (" (l2 normalisation copies the sample)" if l2 else ""),
    ]:
        (note or log.info)(line)
    meta = {**drawn.info.header(), "k": k}
    cb = train(drawn.sample.feats, k, seed=seed, meta=meta, **train_options)
    return cb, drawn


@dataclass
class EvalRun:
    result: dict[str, Any]  # evaluate.evaluate's output
    codebook: Codebook
    codebook_path: Path
    source: Source


def evaluate_inputs(
    codebook_path: str | Path,
    inputs: Sequence[str | Path],
    *,
    align: str | Path | None = None,
    model: str | None = None,
    layer: int | None = None,
    split: str | None = None,
    frame_rate: float | None = None,
    window_s: float = 0.025,
    device: str = "auto",
    per_utterance: bool = False,
) -> EvalRun:
    """A codebook on features or audio: checks that the features are the codebook's (name,
    layer, weights sha256), then ``evaluate.evaluate``."""
    from audiotok.kmeans.codebook import load
    from audiotok.kmeans.evaluate import evaluate

    cb = load(codebook_path)
    src = open_source(
        inputs,
        model=model,
        layer=layer,
        split=split,
        frame_rate=frame_rate,
        device=device,
        codebook=cb,
    )
    info = src.info
    cb.check_features(info.extractor or "", info.layer, info.extractor_sha256 or None)
    rate = info.frame_rate or frame_rate or cb.meta.get("frame_rate")
    res = evaluate(
        cb,
        src.utterances(),
        frame_rate=rate,
        align_dir=align,
        window_s=window_s,
        per_utterance=per_utterance,
    )
    return EvalRun(res, cb, Path(codebook_path), src)
