"""Train / validation splits: a seeded fraction (stable per id) or a list of ids."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from audiotok.errors import AudiotokError


def read_ids(path: str | Path) -> list[str]:
    """One utterance id per line (blank lines ignored)."""
    p = Path(path)
    try:
        lines = p.read_text().splitlines()
    except OSError as e:
        raise AudiotokError(f"cannot read the id list {p}: {e.strerror or e}") from None
    return [s.strip() for s in lines if s.strip()]


def split_ids(
    ids: Sequence[str],
    *,
    val_fraction: float = 0.0,
    seed: int = 0,
    val_ids: Sequence[str] | None = None,
) -> tuple[list[str], list[str]]:
    """(train, validation) ids, each in the source's order.

    ``val_ids``: exactly these (all must exist). ``val_fraction``: round(f x N) ids (at least
    one when f > 0 and N > 1), those with the smallest blake2b(seed, id): the same id lands in
    the same split whatever else the corpus holds.
    """
    if val_ids is not None and val_fraction:
        raise AudiotokError("give a validation fraction or a list of validation ids, not both")
    if val_ids is not None:
        known = set(ids)
        wanted = set(val_ids)
        unknown = sorted(wanted - known)
        if unknown:
            raise AudiotokError(
                f"{len(unknown)} validation id(s) are not in the tokens (e.g. {unknown[0]!r}); "
                "list ids exactly as the store names them (audiotok info --json)"
            )
        return [i for i in ids if i not in wanted], [i for i in ids if i in wanted]
    if not 0.0 <= val_fraction < 1.0:
        raise AudiotokError(f"the validation fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0.0 or len(ids) < 2:
        return list(ids), []
    n_val = max(1, round(val_fraction * len(ids)))

    def key(i: str) -> bytes:
        return hashlib.blake2b(f"{seed}\0{i}".encode(), digest_size=8).digest()

    val = set(sorted(ids, key=key)[:n_val])
    return [i for i in ids if i not in val], [i for i in ids if i in val]
