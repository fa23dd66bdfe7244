"""Training features straight from audio: a seeded sample of utterances under a time budget
(``max_hours``) and a memory budget, features computed only for the utterances taken.

Utterances are visited in a seeded random order across the whole corpus; each one's frame
count comes from its header (the pipeline's one probe of the corpus, in worker processes; no
decoding), and it is taken whole while both budgets hold.
The buffer for the features is allocated once at the sampled size, never past the budget.
Features are computed by the pipeline core; files that fail are reported by path and reason.

This module imports nothing of :mod:`audiotok.kmeans.sources` (which builds on it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError
from audiotok.kmeans.features import FeatureInfo
from audiotok.kmeans.sampling import Sample

log = logging.getLogger("audiotok.kmeans")


def sample_audio(
    inputs: Sequence[str],
    extractor: Any,
    *,
    max_frames: int,
    max_hours: float | None = None,
    seed: int = 0,
    num_workers: int = 0,
    on_error: Callable[[str, str], None] | None = None,
) -> tuple[Sample, FeatureInfo, list[str]]:
    """Features of a seeded sample of the corpus: (sample, feature info, ids taken).

    The choice uses header lengths only: the pipeline's one probe of the corpus
    (:func:`audiotok.pipeline.load.probe_corpus`, ``num_workers`` worker processes); the
    features come from the pipeline core (its workers, batches and failure policy), which
    takes the probed items as they are. A file that fails is reported through
    ``on_error(path, reason)`` (default: a warning in the log) and left out of the sample.
    """
    from audiotok.pipeline.api import features_from_audio, scan_inputs
    from audiotok.pipeline.load import probe_corpus
    from audiotok.pipeline.local import RunOptions
    from audiotok.pipeline.plan import Planned

    items, problems = scan_inputs(list(inputs))
    report = on_error or (lambda path, why: log.warning("skipped %s: %s", path, why))
    for item, why in problems:
        report(item.path, why)
    if not items:
        raise AudiotokError(f"no audio files found in {', '.join(map(str, inputs))}")
    sr = extractor.sample_rate
    probed = probe_corpus(items, sr, num_workers)
    for item, p in zip(items, probed, strict=True):
        if isinstance(p, str):
            report(item.path, p)
    max_samples = None if max_hours is None else int(max_hours * 3600 * sr)
    order = np.random.default_rng(seed).permutation(len(items))
    chosen: dict[str, tuple[int, int]] = {}  # id -> (item index, planned frames)
    frames = samples = 0
    for i in order.tolist():
        p = probed[i]
        if not isinstance(p, Planned):
            continue
        t = extractor.num_frames(p.num_samples)
        if t == 0 or frames + t > max_frames:
            continue
        if max_samples is not None and samples + p.num_samples > max_samples:
            continue
        chosen[items[i].id] = (i, t)
        frames += t
        samples += p.num_samples
    picked = sorted(chosen.values())
    offsets, pos = {}, 0
    for i, t in picked:
        offsets[items[i].id] = pos
        pos += t
    out = np.empty((frames, extractor.dim), dtype=np.float32)
    got: dict[str, int] = {}
    for item, f in features_from_audio(
        [p for i, _ in picked if isinstance(p := probed[i], Planned)],  # not probed again
        extractor,
        options=RunOptions(num_workers=num_workers),
        on_fail=lambda it, why: report(it.path, why),
    ):
        _, t = chosen[item.id]
        n = min(len(f), t)  # compressed headers give estimates: never past the slot
        out[offsets[item.id] : offsets[item.id] + n] = f[:n]
        got[item.id] = n
    # pack the utterances that came through, in corpus order (no gaps from failures)
    keep = [items[i].id for i, _ in picked if items[i].id in got]
    dst = 0
    for uid in keep:
        src, n = offsets[uid], got[uid]
        out[dst : dst + n] = out[src : src + n]
        dst += n
    taken = [i for i, _ in picked if items[i].id in got]
    return Sample(out[:dst], taken, len(items)), feature_info(extractor), keep


def feature_info(ex: Any) -> FeatureInfo:
    """What a sample (and a codebook trained on it) records of the extractor ``ex``."""
    return FeatureInfo(
        dim=int(ex.dim),
        extractor=ex.name,
        layer=ex.layer,
        extractor_sha256=ex.weights_sha256,
        frame_rate=float(ex.frame_rate),
        recipe=extractor_recipe(ex),
    )


def extractor_recipe(ex: Any) -> dict[str, Any]:
    """``ExtractorConfig.to_dict()`` of a loaded extractor: its registry name (or folder) and
    the effective value of every option that changes its features."""
    from audiotok.recipe import ExtractorConfig

    opts = ex.recipe_options() if hasattr(ex, "recipe_options") else {}
    return ExtractorConfig(str(getattr(ex, "recipe_name", "") or ex.name), opts).to_dict()


def load_extractor(model: str, layer: int | None, device: str = "cpu") -> Any:
    from pathlib import Path

    from audiotok import extractors

    options: dict[str, Any] = {}
    if layer is not None:
        options["layers"] = [layer]
    ex: Any = extractors.load(model, **options).to(device)
    if Path(model).expanduser().exists():  # a model folder: recipes name it by its path
        ex.recipe_name = str(Path(model).expanduser().resolve())
    return ex
