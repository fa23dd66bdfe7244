"""Evaluation results (:mod:`audiotok.eval`) as report folders (:func:`write_report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audiotok.report.build import write_report

# metric that picks the best/median/worst examples, and whether higher is better
SAMPLE_METRIC = {
    "pesq_wb": True,
    "si_sdr": True,
    "stoi": True,
    "mel_distance": False,
    "stft_distance": False,
    "uer": False,
}


def eval_report(result: Any, out: str | Path) -> Path:
    """An :class:`~audiotok.eval.EvalResult` (recon, roundtrip, resynth) as one
    self-contained folder: summary, recipe, per-file table, listenable examples. The decoded
    files must still exist (a temporary work folder: render before removing it)."""
    metrics = result.metrics
    rows = [
        {
            "id": f.id,
            **{m: f.scores.get(m, "error") for m in metrics},
            "ref_wav_path": f.ref,
            "dec_wav_path": f.decoded,
        }
        for f in result.files
    ]
    pick = next((m for m in SAMPLE_METRIC if m in metrics), metrics[0] if metrics else None)
    return write_report(
        out,
        title=result.title,
        recipe=result.recipe,
        bitrate_bps=result.bitrate_bps,
        summary={m: v for m, v in result.summary.items() if m in metrics},
        files=rows,
        sample_metric=pick,
        higher_is_better=SAMPLE_METRIC.get(pick or "", True),
        unit_usage=result.unit_usage,
        notes=result.notes,
    )


def codebooks_report(result: Any, out: str | Path) -> Path:
    """A :class:`~audiotok.eval.CodebooksResult` as a report folder: PNMI per codebook and
    per prefix, unit usage of each codebook, the per-codebook table."""
    probe = result.probe
    sem = set(result.spec.semantic_codebooks)
    keys = ("pnmi", "phone_purity", "entropy_bits", "used")
    rows = [
        {"codebook": a["codebook"], "semantic": a["codebook"] in sem, **{m: a[m] for m in keys}}
        for a in probe["codebooks"]
    ]
    return write_report(
        out,
        title=result.title,
        recipe=result.recipe,
        bitrate_bps=result.spec.bitrate,
        summary={
            "aligned utterances": probe["aligned_utterances"],
            "aligned frames": probe["aligned_frames"],
            "phones": len(probe["phone_set"]),
        },
        unit_usage={f"codebook {c}": u.tolist() for c, u in enumerate(result.usage)},
        pnmi={
            "per_codebook": [a["pnmi"] for a in probe["codebooks"]],
            "per_prefix": [p["pnmi"] for p in probe["prefixes"]],
            "labels": [f"codebook {a['codebook']}" for a in probe["codebooks"]],
        },
        extra_tables={"per codebook": rows},
    )
