"""Units that are not in a token store, through the one decoding loop
(:mod:`audiotok.decoding.loop`) and a unit vocoder: ``(id, units)`` items and fairseq-style
unit files to ``<id>.wav`` files (a store goes through :func:`audiotok.decoding.decode_store`).

Options (``speaker``, ``style``, ``dedup``, ``batched``, ``window_frames``) are those of
:class:`audiotok.decoding.vocoder.VocoderDecoder`; ``batch_frames`` bounds a padded batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

_DECODER_OPTIONS = ("speaker", "style", "dedup", "batched", "window_frames")


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    dec = {k: v for k, v in options.items() if k in _DECODER_OPTIONS}
    return dec, {k: v for k, v in options.items() if k not in _DECODER_OPTIONS}


def decode_units(
    items: Iterable[tuple[str, Any]],
    vocoder: Any,
    dest: Callable[[str], Path],
    **options: Any,
) -> int:
    """``(id, units [T'])`` items to ``dest(id)`` wavs; returns the count written."""
    from audiotok.decoding.loop import decode_items
    from audiotok.decoding.vocoder import VocoderDecoder

    dec, loop = _split(options)
    its = ((u, np.asarray(x, dtype=np.int64).reshape(-1), None) for u, x in items)
    return decode_items(its, VocoderDecoder(vocoder, **dec), dest, **loop)


def decode_unit_file(path: str | Path, vocoder: Any, out_dir: str | Path, **options: Any) -> int:
    """``audiotok decode units.txt``: every line of a unit file to ``out_dir/<id>.wav``."""
    from audiotok.decoding.loop import output_path
    from audiotok.vocoders.units_file import read_unit_file

    out = Path(out_dir)
    return decode_units(read_unit_file(path), vocoder, lambda u: output_path(out, u), **options)
