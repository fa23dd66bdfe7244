"""Evaluation as library code: each function returns a result object with ``to_dict()``.

    import audiotok.eval as E
    r = E.roundtrip("corpus/", tok, "work/")          # codec: encode, decode, score
    r.summary["si_sdr"]["mean"], r.to_dict()

- :func:`recon`: decoded audio against references paired by id (mel distance,
  multi-resolution STFT distance, SI-SDR, PESQ-wb, STOI; per file and means);
- :func:`roundtrip`: a corpus encoded with a codec (through the pipeline), decoded
  (:func:`audiotok.decoding.decode_store`) and scored as :func:`recon` does;
- :func:`resynth`: a corpus encoded into semantic units, vocoded, and scored: the
  :func:`recon` metrics plus the unit error rate of the resynthesis re-tokenized (through the
  pipeline) with the same tokenizer;
- :func:`codebooks`: which codebooks of a token store carry phonetic content (PNMI, phone
  purity, entropy per codebook and per prefix of codebooks) and how each codebook is used.

The CLI (``audiotok eval``) prints these results; :mod:`audiotok.report.eval_pages` renders
them as HTML. A file that cannot be read, encoded or scored is reported by name in the result
(``encode_errors``, per-file ``errors``) and left out of the means, never scored.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "EvalResult": "audiotok.eval.result",
    "CodebooksResult": "audiotok.eval.codebook_probe",
    "check_metrics": "audiotok.eval.scoring",
    "recon": "audiotok.eval.scoring",
    "roundtrip": "audiotok.eval.codec_roundtrip",
    "resynth": "audiotok.eval.unit_resynth",
    "codebooks": "audiotok.eval.codebook_probe",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audiotok.eval' has no attribute {name!r}")


__all__ = sorted(_LAZY)
