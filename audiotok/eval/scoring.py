"""``recon``: decoded audio against references paired by id (the scoring every evaluation
shares), and the checks of metric names and optional packages made before any work."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audiotok.errors import AudiotokError
from audiotok.eval.result import EvalResult
from audiotok.metrics import METRICS
from audiotok.metrics.recon import Pairing, pair_dirs, score_files, summarize

_NEEDS = {"pesq_wb": "pesq", "stoi": "pystoi"}


def require(packages: dict[str, str], wanted: Sequence[str]) -> None:
    """A missing optional package is one line before any work, not an error per file."""
    missing = sorted(
        {p for m, p in packages.items() if m in wanted and not importlib.util.find_spec(p)}
    )
    if missing:
        raise AudiotokError(
            f"{', '.join(missing)} not installed: pip install 'audiotok[eval]' "
            "(or choose --metrics without them)"
        )


def check_metrics(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """Metric names from ``"a,b"`` or a sequence (default: all of ``METRICS``), checked:
    unknown names and missing optional packages are one error before any work."""
    if isinstance(spec, str):
        names = tuple(m.strip() for m in spec.split(",") if m.strip())
    else:
        names = tuple(spec or ())
    names = names or METRICS
    bad = [m for m in names if m not in METRICS]
    if bad:
        raise AudiotokError(f"unknown metric(s) {', '.join(bad)}: use {', '.join(METRICS)}")
    require(_NEEDS, names)
    return names


def scored(
    title: str,
    pairing: Pairing,
    metrics: tuple[str, ...],
    *,
    num_workers: int = 0,
    bitrate_bps: float | None = None,
    extra: dict[str, tuple[dict[str, float], dict[str, str]]] | None = None,
    extra_names: tuple[str, ...] = (),
    **fields: Any,
) -> EvalResult:
    """Every pair of ``pairing`` scored with ``metrics``, plus (scores, errors) already
    computed per id in ``extra`` (the unit error rate: ``extra_names``), summarised."""
    files = score_files(pairing, metrics, num_workers=num_workers)
    for f in files:
        more, why = (extra or {}).get(f.id, ({}, {}))
        f.scores.update(more)
        f.errors.update(why)
    names = (*extra_names, *metrics)
    summary = summarize(files, names)
    if bitrate_bps is not None:
        summary["bitrate_kbps"] = bitrate_bps / 1000
    return EvalResult(title, names, files, summary, bitrate_bps=bitrate_bps, **fields)


def recon(
    ref_dir: str | Path,
    decoded_dir: str | Path,
    *,
    metrics: str | Sequence[str] | None = None,
    bitrate_bps: float | None = None,
    recipe: dict[str, Any] | None = None,
    num_workers: int = 0,
    title: str | None = None,
) -> EvalResult:
    """Score each decoded file against the reference with the same id (the path without
    extension, relative to each folder): mel distance, multi-resolution STFT distance,
    SI-SDR, PESQ (wide band, at 16 kHz) and STOI (:mod:`audiotok.metrics.recon` says how
    rates and lengths are matched). Ids on one side only are listed in ``unpaired``."""
    names = check_metrics(metrics)
    for d in (ref_dir, decoded_dir):
        if not Path(d).is_dir():
            raise AudiotokError(f"{d} is not a folder")
    pairing = pair_dirs(ref_dir, decoded_dir)
    if not pairing.pairs:
        raise AudiotokError(
            f"no file of {decoded_dir} has a reference with the same id in "
            f"{ref_dir} (ids are paths without extension)"
        )
    return scored(
        title or f"reconstruction: {decoded_dir} vs {ref_dir}",
        pairing,
        names,
        num_workers=num_workers,
        bitrate_bps=bitrate_bps,
        recipe=recipe,
        unpaired={"reference_only": pairing.only_ref, "decoded_only": pairing.only_decoded},
    )


def pair_decoded(items: Sequence[Any], decoded: Path, ids: Sequence[str]) -> Pairing:
    """Each source item whose id was decoded, with its decoded file (the others failed to
    encode and are reported as such, not as unpaired)."""
    from audiotok.decoding.loop import output_path

    done = set(ids)
    return Pairing(
        [(it.id, it.path, str(output_path(decoded, it.id))) for it in items if it.id in done],
        [],
        [],
    )
