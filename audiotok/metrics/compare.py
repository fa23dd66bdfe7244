"""Tokenizers side by side on one corpus (``audiotok compare``).

Each tokenizer encodes the corpus once through the pipeline (its token store under
``out/<slug>/tokens``; files that fail follow the pipeline's policy and are listed), then:

- always: kind, frame rate, codebooks and their size, bitrate, tokens per second of audio,
  encode throughput (seconds of audio per second of wall time, model load excluded), unit
  usage and entropy per codebook (:func:`audiotok.kmeans.metrics.usage_stats`);
- with phone alignments: PNMI per codebook (:func:`audiotok.metrics.codebooks.probe_store`,
  as ``eval codebooks``) and ABX error rates of the one-hot units of all codebooks
  (:mod:`audiotok.metrics.abx`, as ``eval abx``);
- codecs (acoustic, hybrid): decode, then the reconstruction metrics of ``eval recon``;
- semantic units with a vocoder made for them: resynthesis and its unit error rate (as
  ``eval resynth``; a vocoder made for other tokens is one error for that tokenizer).

A tokenizer that cannot be built (weights missing, a bad option) is one error line in its
row and the others still compare. Model specs: ``name`` or ``name:key=value:key=value``
(builder options such as ``pretrained=false``, ``n_codebooks=2``, ``weights=PATH``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError

PACKAGES = {"pesq_wb": "pesq", "stoi": "pystoi"}


def parse_model(spec: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value:...`` -> (name, options); values true/false/int/float/text."""
    name, *opts = spec.strip().split(":")
    if not name:
        raise AudiotokError(f"empty model name in {spec!r}")
    options: dict[str, Any] = {}
    for o in opts:
        key, eq, raw = o.partition("=")
        if not eq or not key:
            raise AudiotokError(f"model option {o!r} of {spec!r} is not key=value")
        value: Any = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        else:
            for cast in (int, float):
                try:
                    value = cast(raw)
                    break
                except ValueError:
                    pass
        options[key.replace("-", "_")] = value
    return name, options


def slug(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", spec).strip("_") or "model"


def available_metrics() -> tuple[str, ...]:
    """The reconstruction metrics whose packages are installed."""
    import importlib.util

    from audiotok.metrics import METRICS

    return tuple(m for m in METRICS if m not in PACKAGES or importlib.util.find_spec(PACKAGES[m]))


def _usage(ts: Any) -> list[dict[str, Any]]:
    from audiotok.kmeans.metrics import usage_stats

    k, size = ts.spec.num_codebooks, ts.spec.codebook_size
    counts = np.zeros((k, size), dtype=np.int64)
    for _, codes in ts:
        for c in range(k):
            counts[c] += np.bincount(codes[c], minlength=size)
    out = []
    for c in range(k):
        u = usage_stats(counts[c])
        out.append(
            {"codebook": c, **{key: u[key] for key in ("used", "entropy_bits", "perplexity")}}
        )
    return out


def _alignment_metrics(ts: Any, align: Path, abx_options: dict[str, Any]) -> dict[str, Any]:
    from audiotok.metrics.abx import abx
    from audiotok.metrics.abx_items import items_from_alignments
    from audiotok.metrics.abx_sources import unit_vectors
    from audiotok.metrics.codebooks import probe_store

    probe = probe_store(ts, align)
    size = ts.spec.codebook_size
    items = items_from_alignments(align, ts.ids())
    frames = ((uid, unit_vectors(codes, size)) for uid, codes in ts)
    result = abx(frames, items, float(ts.spec.frame_rate), **abx_options)
    return {"pnmi": [c["pnmi"] for c in probe["codebooks"]], "abx": result["scores"]}


def _recon(ts: Any, tok: Any, corpus: Path, work: Path, metrics: Sequence[str]) -> dict[str, Any]:
    from audiotok.decoding import decode_store
    from audiotok.metrics.recon import pair_dirs, score_files, summarize

    decoded = work / "decoded"
    decode_store(ts, tok, decoded)
    pairing = pair_dirs(corpus, decoded)
    files = score_files(pairing, tuple(metrics))
    summary = summarize(files, tuple(metrics))
    return {
        "recon": {m: summary[m]["mean"] for m in metrics},
        "examples": [
            {"id": u, "reference": str(r), "decoded": str(d)} for u, r, d in pairing.pairs
        ],
        "errors": [f"{f.id}: {n}: {why}" for f in files for n, why in f.errors.items()],
    }


def _resynth(
    items: Any, tok: Any, vocoder: Any, work: Path, metrics: Sequence[str]
) -> dict[str, Any]:
    from audiotok.eval.unit_resynth import resynth
    from audiotok.pipeline.local import RunOptions

    res = resynth(items, tok, vocoder, work / "resynth", metrics=tuple(metrics),
                  options=RunOptions(num_workers=0))  # fmt: skip
    files, summary = res.files, res.summary
    return {
        "uer": summary["uer"]["mean"],
        "recon": {m: summary[m]["mean"] for m in metrics},
        "examples": [
            {"id": f.id, "reference": str(f.ref), "decoded": str(f.decoded)}
            for f in files
            if f.decoded
        ],
        "errors": [f"{f.id}: {n}: {why}" for f in files for n, why in f.errors.items()],
    }


def compare_one(
    spec: str,
    corpus: Path,
    items: Sequence[Any],
    problems: Sequence[Any],
    out_dir: Path,
    *,
    align: Path | None = None,
    vocoder: Any = None,
    metrics: Sequence[str] = (),
    device: str = "cpu",
    abx_options: dict[str, Any] | None = None,
    on_error: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """The row of one tokenizer (module docstring); raises AudiotokError if it cannot be built."""
    from audiotok import open_tokens
    from audiotok.factory import load_tokenizer
    from audiotok.pipeline.api import encode_corpus
    from audiotok.pipeline.local import Events, RunOptions
    from audiotok.tokenizer import resolve_device

    name, options = parse_model(spec)
    tok = load_tokenizer(name, device=resolve_device(device), **options)
    work = out_dir / slug(spec)
    t = time.perf_counter()
    summary = encode_corpus(
        items, tok, work / "tokens", options=RunOptions(num_workers=0),
        events=Events(on_error=on_error), overwrite=True, problems=problems,
    )  # fmt: skip
    wall = time.perf_counter() - t
    ts = open_tokens(str(work / "tokens"))
    s = ts.spec
    audio_s = float(sum(r["duration_s"] for r in ts.rows()))
    row: dict[str, Any] = {
        "model": spec,
        "name": s.name,
        "kind": s.kind,
        "frame_rate": float(s.frame_rate),
        "codebooks": int(s.num_codebooks),
        "codebook_size": int(s.codebook_size),
        "bitrate_bps": float(s.bitrate),
        "tokens_per_second": float(sum(s.rates)),  # each codebook at its rate (multi-rate)
        "audio_seconds": audio_s,
        "encode_seconds": wall,
        "encode_realtime": audio_s / wall if wall > 0 else None,
        "utterances": len(ts),
        "usage": _usage(ts),
        "errors": [f"{e['id']}: {e.get('reason', '')}" for e in ts.errors],
        "encode_errors": summary.errors,
    }
    if align is not None:
        try:
            row.update(_alignment_metrics(ts, align, abx_options or {}))
        except AudiotokError as e:  # e.g. no alignment matches this store's ids
            row["errors"].append(f"alignments: {e}")
    if s.kind in ("acoustic", "hybrid") and metrics:
        part = _recon(ts, tok, corpus, work, metrics)
        row["errors"] += part.pop("errors")
        row.update(part)
    elif s.kind == "semantic" and vocoder is not None:
        try:
            part = _resynth(items, tok, vocoder, work, metrics)
        except AudiotokError as e:
            row["errors"].append(f"resynthesis: {e}")
        else:
            row["errors"] += part.pop("errors")
            row.update(part)
    return row


def compare(
    corpus: str | Path,
    models: Sequence[str],
    out_dir: str | Path,
    *,
    align: str | Path | None = None,
    vocoder: str | None = None,
    metrics: Sequence[str] | None = None,
    device: str = "cpu",
    abx_options: dict[str, Any] | None = None,
    on_error: Callable[..., None] | None = None,
    on_model: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Compare ``models`` on ``corpus`` (a folder); see the module docstring. Returns
    ``{"corpus", "files", "align", "vocoder", "metrics", "tokenizers": [row, ...]}``; a
    tokenizer that could not be built or run has ``{"model", "error"}`` only."""
    from audiotok.pipeline.api import scan_inputs

    root = Path(corpus)
    if not root.is_dir():
        raise AudiotokError(f"{root} is not a folder of audio files")
    if not models:
        raise AudiotokError("--models names no tokenizer")
    al = Path(align) if align is not None else None
    if al is not None and not al.is_dir():
        raise AudiotokError(f"--align {al} is not a folder of <utterance id>.tsv files")
    chosen = tuple(metrics) if metrics is not None else available_metrics()
    items, problems = scan_inputs([root])
    if not items:
        raise AudiotokError(f"no audio files found in {root}")
    voc = None
    if vocoder is not None:
        from audiotok.vocoders import load

        voc = load(vocoder, device=device)
    out = Path(out_dir)
    rows = []
    for spec in models:
        try:
            row = compare_one(
                spec, root, items, problems, out, align=al, vocoder=voc, metrics=chosen,
                device=device, abx_options=abx_options, on_error=on_error,
            )  # fmt: skip
        except AudiotokError as e:
            row = {"model": spec, "error": str(e)}
        rows.append(row)
        if on_model is not None:
            on_model(spec, row)
    return {
        "corpus": str(root),
        "files": len(items),
        "align": str(al) if al is not None else None,
        "vocoder": vocoder,
        "metrics": list(chosen),
        "tokenizers": rows,
    }
