"""``audiotok kmeans eval --html DIR``: an evaluation run as an ``audiotok.report`` folder.

The page shows the summary (inertia, usage, unit entropy, entropy bitrate, purities and
PNMI with alignments), the per-utterance table (frames, inertia per frame, distinct units,
unit entropy), the usage histogram, the PNMI of the codebook, the codebook as a recipe
(extractor, layer, k, sha256 and how it was trained) and, where the utterances' audio is
known (audio input, ``audiotok extract`` stores, fairseq manifests), the spectrogram and a
player of the utterances with the lowest, median and highest inertia per frame.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from audiotok.kmeans.runs import EvalRun

SUMMARY_KEYS = (
    ("utterances", "utterances"),
    ("frames", "frames"),
    ("inertia_per_frame", "inertia per frame"),
    ("used", "units used"),
    ("dead", "dead units"),
    ("tiny", "tiny units"),
    ("entropy_bits", "unit entropy (bits)"),
    ("max_entropy_bits", "max entropy (bits)"),
    ("perplexity", "perplexity"),
    ("bitrate_bps", "entropy bitrate (bit/s)"),
    ("aligned_utterances", "aligned utterances"),
    ("phones", "phones"),
    ("phone_purity", "phone purity"),
    ("cluster_purity", "cluster purity"),
    ("pnmi", "PNMI"),
)
TRAINING_KEYS = (
    "backend",
    "init",
    "seed",
    "niter",
    "tol",
    "iterations_run",
    "converged",
    "nredo",
    "num_samples",
    "inertia",
)


def write_eval_report(out_dir: str | Path, run: EvalRun) -> Path:
    from audiotok.report.build import write_report

    res, cb = run.result, run.codebook
    info = run.source.info
    extractor = info.extractor or cb.extractor or "unknown extractor"
    summary = {label: res[key] for key, label in SUMMARY_KEYS if res.get(key) is not None}
    audio = run.source.audio_paths()
    files = []
    for row in res.get("per_utterance", []):
        r: dict[str, Any] = dict(row)
        path = audio.get(str(row["id"]))
        if path is not None and path.is_file():
            r["ref_wav_path"] = path
        files.append(r)
    recipe: dict[str, Any] = {
        "tokenizer": cb.default_name(extractor, info.layer),
        "extractor": extractor,
        "layer": info.layer,
        "extractor_sha256": cb.meta.get("extractor_sha256") or info.extractor_sha256 or None,
        "codebook": str(run.codebook_path),
        "codebook_sha256": cb.identity,
        "k": cb.k,
        "dim": cb.dim,
        "normalize": cb.normalize,
        "frame_rate": res.get("frame_rate"),
        "input": f"{run.source.kind}",
    }
    recipe.update({f"trained: {k}": cb.meta[k] for k in TRAINING_KEYS if k in cb.meta})
    recipe = {k: v for k, v in recipe.items() if v is not None}
    rate = res.get("frame_rate")
    notes = []
    if files and not any("ref_wav_path" in f for f in files):
        notes.append("The utterances' audio is not known for these features: no players.")
    return write_report(
        out_dir,
        title=f"kmeans eval: {run.codebook_path.name}",
        recipe=recipe,
        bitrate_bps=rate * math.log2(cb.k) if rate else None,
        summary=summary,
        files=files,
        sample_metric="inertia_per_frame" if files else None,
        higher_is_better=False,
        unit_usage={f"{run.codebook_path.name} (k={cb.k})": res["usage"]},
        pnmi={"per_codebook": [res["pnmi"]], "labels": [run.codebook_path.stem]}
        if "pnmi" in res
        else None,
        notes=notes,
    )
