"""Scoring decoded audio against references: pairing by id, per-file scores, means.

Files pair by id (path relative to the folder, without extension: ``spk1/utt3``). Both
signals are read as mono; the decoded one is resampled to the reference's rate when they
differ (mel, STFT and SI-SDR are computed at the lower of the two rates), both are trimmed
to the shorter length (codecs pad to whole frames), and PESQ / STOI are computed at 16 kHz.
No time alignment is attempted: the codecs here have no delay between input and output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.metrics import METRICS, MetricError


@dataclass
class FileScore:
    id: str
    ref: str
    decoded: str
    scores: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    length_diff_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ref": self.ref,
            "decoded": self.decoded,
            **self.scores,
            "errors": self.errors,
            "length_diff_s": round(self.length_diff_s, 6),
        }


@dataclass
class Pairing:
    pairs: list[tuple[str, str, str]]  # id, reference path, decoded path
    only_ref: list[str]
    only_decoded: list[str]


def pair_dirs(ref_dir: str | Path, decoded_dir: str | Path) -> Pairing:
    from audiotok.corpus import scan

    ref = {it.id: it.path for it in scan([ref_dir])}
    dec = {it.id: it.path for it in scan([decoded_dir])}
    both = sorted(ref.keys() & dec.keys())
    return Pairing(
        [(i, ref[i], dec[i]) for i in both],
        sorted(ref.keys() - dec.keys()),
        sorted(dec.keys() - ref.keys()),
    )


def score_signals(
    ref: np.ndarray, ref_sr: int, deg: np.ndarray, deg_sr: int, metrics: Iterable[str] = METRICS
) -> tuple[dict[str, float], dict[str, str]]:
    """(scores, errors) for one pair of mono signals."""
    from audiotok.audio import resample
    from audiotok.metrics import perceptual, signal

    sr = min(ref_sr, deg_sr)
    r, d = resample(ref, ref_sr, sr), resample(deg, deg_sr, sr)
    n = min(len(r), len(d))
    r, d = r[:n], d[:n]
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    r16 = d16 = None
    for name in metrics:
        try:
            if name == "mel_distance":
                value = signal.mel_distance(r, d, sr)
            elif name == "stft_distance":
                value = signal.stft_distance(r, d)
            elif name == "si_sdr":
                value = signal.si_sdr(r, d)
            else:
                if r16 is None or d16 is None:  # both are set together
                    r16, d16 = perceptual.to_16k(r, sr), perceptual.to_16k(d, sr)
                value = (
                    perceptual.pesq_wb(r16, d16) if name == "pesq_wb" else perceptual.stoi(r16, d16)
                )
            if not math.isfinite(value):
                raise MetricError(f"{name} is not finite ({value})")
            scores[name] = value
        except MetricError as e:
            errors[name] = str(e)
    return scores, errors


def score_pair(
    utt_id: str, ref_path: str, dec_path: str, metrics: Iterable[str] = METRICS
) -> FileScore:
    """One pair of files read (mono) and scored; unreadable audio is the error ``audio``."""
    from audiotok import audio
    from audiotok.errors import AudioError

    fs = FileScore(utt_id, ref_path, dec_path)
    try:
        ref_sr, dec_sr = audio.probe(ref_path).sample_rate, audio.probe(dec_path).sample_rate
        ref, deg = audio.read(ref_path), audio.read(dec_path)
    except AudioError as e:
        fs.errors["audio"] = e.reason
    else:
        fs.length_diff_s = len(deg) / dec_sr - len(ref) / ref_sr
        fs.scores, fs.errors = score_signals(ref, ref_sr, deg, dec_sr, metrics)
    return fs


def _score_chunk(pairs: list[tuple[str, str, str]], metrics: tuple[str, ...]) -> list[FileScore]:
    return [score_pair(u, r, d, metrics) for u, r, d in pairs]


def score_files(
    pairing: Pairing,
    metrics: Iterable[str] = METRICS,
    on_file: Callable[[FileScore], None] | None = None,
    num_workers: int = 0,
    chunk: int = 8,
) -> list[FileScore]:
    """Every pair scored, in pairing order: in this process (``num_workers=0``) or in that
    many worker processes of the pipeline's pool (reading and scoring run in parallel,
    ``chunk`` pairs per job)."""
    metrics = tuple(metrics)
    pairs = list(pairing.pairs)
    jobs = [(pairs[i : i + chunk], metrics) for i in range(0, len(pairs), chunk)]
    out: list[FileScore] = []
    if num_workers > 0 and len(jobs) > 1:
        from audiotok.pipeline.load import WorkerPool

        pool = WorkerPool(min(num_workers, len(jobs)))
        aborted = True
        try:
            for scored in pool.imap(_score_chunk, jobs, depth=2 * pool.n):
                out.extend(_tell(scored, on_file))
            aborted = False
        finally:
            pool.close(abort=aborted)
        return out
    for job in jobs:
        out.extend(_tell(_score_chunk(*job), on_file))
    return out


def _tell(scored: list[FileScore], on_file: Callable[[FileScore], None] | None) -> list[FileScore]:
    if on_file:
        for fs in scored:
            on_file(fs)
    return scored


def summarize(files: list[FileScore], metrics: Iterable[str] = METRICS) -> dict[str, Any]:
    """Mean of each metric over the files where it succeeded, with that count."""
    out: dict[str, Any] = {}
    for name in metrics:
        values = [f.scores[name] for f in files if name in f.scores]
        out[name] = {"mean": float(np.mean(values)) if values else None, "n": len(values)}
    out["files"] = len(files)
    out["files_with_errors"] = sum(1 for f in files if f.errors)
    return out
