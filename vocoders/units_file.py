"""Unit files as other tools write them: one utterance per line.

Accepted line forms (blank lines skipped):

- ``12 12 7 7 7 3``: space-separated units; the id is the line number (``000001`` ...),
  as fairseq's ``examples/speech_to_speech/generate_waveform_from_code.py`` reads them.
- ``utt_id|12 12 7 ...``: GSLM's ``quantize_with_kmeans.py`` output (fairseq
  ``examples/textless_nlp/gslm/speech2unit``).
- ``utt_id<TAB>12 12 7 ...``: tab-separated id and units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiotok.errors import AudiotokError


def read_unit_file(path: str | Path) -> list[tuple[str, np.ndarray]]:
    """``[(id, units int64 [T'])]`` in file order; a malformed line is an error naming it."""
    p = Path(path)
    try:
        lines = p.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AudiotokError(f"cannot read unit file {p}: {e}") from None
    out: list[tuple[str, np.ndarray]] = []
    seen: set[str] = set()
    width = max(6, len(str(len(lines))))
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if "|" in line:
            utt, _, body = line.partition("|")
        elif "\t" in line:
            utt, _, body = line.partition("\t")
        else:
            utt, body = f"{n:0{width}d}", line
        utt = utt.strip()
        try:
            units = np.array([int(t) for t in body.split()], dtype=np.int64)
        except (ValueError, OverflowError):  # OverflowError: past int64
            raise AudiotokError(
                f"{p}:{n}: expected space-separated integer units (optionally 'id|units' or "
                f"'id<TAB>units'), got {line[:60]!r}"
            ) from None
        if not utt or units.size == 0:
            raise AudiotokError(f"{p}:{n}: empty id or no units")
        if (units < 0).any():
            raise AudiotokError(f"{p}:{n}: negative unit {int(units.min())}")
        if utt in seen:
            raise AudiotokError(f"{p}:{n}: id {utt!r} appears twice")
        seen.add(utt)
        out.append((utt, units))
    return out
