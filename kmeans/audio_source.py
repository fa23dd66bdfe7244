"""Training features straight from audio: a seeded sample of utterances under a time budget
(``max_hours``) and a memory budget, features computed only for the utterances taken.

Utterances are visited in a seeded random order across the whole corpus; each one's frame
count comes from its header (no decoding), and it is taken whole while both budgets hold.
The buffer for the features is allocated once at the sampled size, never past the budget.
Unreadable files are skipped and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from audiotok.errors import AudioError, AudiotokError
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
) -> tuple[Sample, FeatureInfo, list[str]]:
    """Features of a seeded sample of the corpus: (sample, feature info, ids taken)."""
    import torch

    from audiotok import audio, corpus

    items = corpus.scan(inputs)
    if not items:
        raise AudiotokError(f"no audio files found in {', '.join(map(str, inputs))}")
    sr = extractor.sample_rate
    max_samples = None if max_hours is None else int(max_hours * 3600 * sr)
    order = np.random.default_rng(seed).permutation(len(items))
    chosen: list[tuple[int, int, int]] = []  # (item, samples at sr, frames)
    frames = samples = bad = 0
    for i in order.tolist():
        try:
            info = audio.probe(items[i].path)
        except AudioError:
            bad += 1
            continue
        n = audio.resampled_length(info.num_frames, info.sample_rate, sr)
        t = extractor.num_frames(n)
        if t == 0 or frames + t > max_frames:
            continue
        if max_samples is not None and samples + n > max_samples:
            continue
        chosen.append((i, n, t))
        frames += t
        samples += n
    chosen.sort()
    out = np.empty((frames, extractor.dim), dtype=np.float32)
    pos, ids = 0, []
    for i, _, t in chosen:
        try:
            wav = torch.from_numpy(audio.read(items[i].path, sr)).to(extractor.device)
        except AudioError as e:
            log.warning("skipped %s", e)
            bad += 1
            continue
        with torch.inference_mode():
            f, lens = extractor(wav.unsqueeze(0), torch.tensor([len(wav)]))
        f = f[0, : min(int(lens[0]), t)].float().cpu().numpy()
        out[pos : pos + len(f)] = f
        pos += len(f)
        ids.append(items[i].id)
    if bad:
        log.warning("%d unreadable file(s) skipped", bad)
    info = FeatureInfo(
        dim=int(extractor.dim),
        extractor=extractor.name,
        layer=extractor.layer,
        extractor_sha256=extractor.weights_sha256,
        frame_rate=float(extractor.frame_rate),
    )
    return Sample(out[:pos], [i for i, _, _ in chosen], len(items)), info, ids


def load_extractor(model: str, layer: int | None, device: str = "cpu") -> Any:
    from audiotok import extractors

    options: dict[str, Any] = {}
    if layer is not None:
        options["layers"] = [layer]
    return extractors.load(model, **options).to(device)
