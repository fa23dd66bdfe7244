"""``codebooks``: which codebooks of a token store carry phonetic content, and their usage.

The probe itself (PNMI, phone purity, unit entropy per codebook and per prefix of codebooks)
is :func:`audiotok.metrics.codebooks.probe_store`; this adds the store's identity and how
often each entry of each codebook is used, for reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiotok.errors import AudiotokError


@dataclass
class CodebooksResult:
    """``probe``: :func:`~audiotok.metrics.codebooks.probe_store`'s result (``codebooks``,
    ``prefixes``, ``aligned_utterances``, ``aligned_frames``, ``phone_set``...);
    ``usage``: counts [K, codebook_size] over the whole store."""

    probe: dict[str, Any]
    usage: np.ndarray
    spec: Any
    recipe: dict[str, Any] | None

    @property
    def title(self) -> str:
        return f"codebooks of {self.spec.name}: phonetic content"

    def to_dict(self) -> dict[str, Any]:
        return self.probe


def codebooks(
    tokens: str | Path | Any, align_dir: str | Path, *, max_prefix: int | None = None
) -> CodebooksResult:
    """Probe each codebook of ``tokens`` (a store folder or an opened store; any K: EnCodec,
    DAC, hybrid, units) alone and each prefix of codebooks jointly against the phone
    alignments in ``align_dir`` (``<utterance id>.tsv``: start, end, phone)."""
    from audiotok import open_tokens
    from audiotok.metrics.codebooks import probe_store

    if not Path(align_dir).is_dir():
        raise AudiotokError(f"--align {align_dir} is not a folder of <utterance id>.tsv files")
    ts = open_tokens(str(tokens)) if isinstance(tokens, (str, Path)) else tokens
    probe = probe_store(ts, align_dir, max_prefix=max_prefix)
    k, size = ts.spec.num_codebooks, ts.spec.codebook_size
    usage = np.zeros((k, size), dtype=np.int64)
    for _, codes in ts:
        for c in range(k):
            usage[c] += np.bincount(np.asarray(codes[c], dtype=np.int64), minlength=size)
    recipe = ts.recipe.to_dict() if ts.recipe is not None else ts.spec.to_dict()
    return CodebooksResult(probe, usage, ts.spec, recipe)
