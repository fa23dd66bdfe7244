"""The items an ABX evaluation compares: phone tokens with their context and speaker.

An item is one occurrence of a phone in an utterance: ``(utterance id, onset s, offset s,
phone, previous phone, next phone, speaker)``. Two sources:

- a ZeroSpeech / libri-light ``.item`` file: a header line, then whitespace-separated
  ``#file onset offset #phone prev-phone next-phone speaker`` (the layout read by the
  libri-light ABX and by ``zerospeech-libriabx2``'s ``ABXItemFileLoader``);
- a folder of phone alignments ``<utterance id>.tsv`` (``start end phone``, the files
  ``eval codebooks`` reads): every phone that has a phone before and after it in its
  utterance becomes an item whose context is those neighbours (the triphone items of the
  ZeroSpeech 2021 / libri-light item files: onset and offset are the central phone's).

Speakers come from a file (``<utterance id><TAB><speaker>`` per line) or, by default, from
the utterance id: its first path component when it has one (``spk1/utt3``), else the part
before the first ``-`` or ``_`` (LibriSpeech's ``84-121123-0000``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from audiotok.errors import AudiotokError

# Labels that are not phones in common aligners' output (MFA, Kaldi, the LibriSpeech
# alignments): never an item, and never a context (an item next to one is kept with it).
SILENCES = frozenset({"", "sil", "sp", "spn", "SIL", "SP", "SPN", "<sil>", "<eps>"})


@dataclass(frozen=True)
class Item:
    file: str
    onset: float
    offset: float
    phone: str
    prev: str
    next: str
    speaker: str

    @property
    def context(self) -> str:
        return f"{self.prev}+{self.next}"


def read_item_file(path: str | Path) -> list[Item]:
    """The items of a ZeroSpeech ``.item`` file (first line is a header)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AudiotokError(f"cannot read item file {p}: {e}") from None
    items = []
    for n, line in enumerate(lines[1:], 2):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 7:
            raise AudiotokError(
                f"{p}:{n}: expected 7 fields (#file onset offset #phone prev next speaker), "
                f"got {len(parts)}"
            )
        try:
            on, off = float(parts[1]), float(parts[2])
        except ValueError:
            raise AudiotokError(f"{p}:{n}: onset and offset must be seconds") from None
        items.append(Item(parts[0], on, off, parts[3], parts[4], parts[5], parts[6]))
    if not items:
        raise AudiotokError(f"{p} holds no items")
    return items


def speaker_from_id(utt_id: str) -> str:
    """The default speaker of an utterance id (see the module docstring)."""
    if "/" in utt_id:
        return utt_id.split("/", 1)[0]
    return re.split(r"[-_]", utt_id, maxsplit=1)[0]


def read_speakers(path: str | Path) -> dict[str, str]:
    """``<utterance id><TAB or space><speaker>`` per line."""
    out = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise AudiotokError(f"{path}:{n}: expected '<utterance id> <speaker>'")
        out[parts[0]] = parts[1]
    return out


def _speaker_lookup(
    speaker_of: Callable[[str], str] | dict[str, str] | None,
) -> Callable[[str], str]:
    if speaker_of is None:
        return speaker_from_id
    if not isinstance(speaker_of, dict):
        return speaker_of
    table = speaker_of

    def lookup(u: str) -> str:
        if u not in table:
            raise AudiotokError(f"the speaker file does not name utterance {u}")
        return table[u]

    return lookup


def items_from_alignments(
    align_dir: str | Path,
    ids: Iterable[str] | None = None,
    *,
    speaker_of: Callable[[str], str] | dict[str, str] | None = None,
    silences: frozenset[str] = SILENCES,
) -> list[Item]:
    """Triphone items from ``<utterance id>.tsv`` alignments (ids: which utterances; default
    every ``.tsv`` under the folder, ids being their paths without the suffix)."""
    from audiotok.kmeans.metrics import read_alignment

    root = Path(align_dir)
    if not root.is_dir():
        raise AudiotokError(f"--align {root} is not a folder of <utterance id>.tsv files")
    if ids is None:
        ids = sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.tsv"))
    spk = _speaker_lookup(speaker_of)
    items = []
    for uid in ids:
        tsv = root / f"{uid}.tsv"
        if not tsv.is_file():
            continue
        segs = sorted(read_alignment(tsv))
        for (_, _, prev), (on, off, ph), (_, _, nxt) in zip(segs, segs[1:], segs[2:], strict=False):
            if ph in silences or off <= on:
                continue
            items.append(Item(uid, on, off, ph, prev, nxt, spk(uid)))
    if not items:
        raise AudiotokError(
            f"no triphone item in {root}: it needs <utterance id>.tsv files matching the "
            "utterances, with at least three segments each"
        )
    return items


def write_item_file(items: Iterable[Item], path: str | Path) -> Path:
    """Write items as a ZeroSpeech ``.item`` file (for the reference implementation)."""
    p = Path(path)
    lines = ["#file onset offset #phone prev-phone next-phone speaker"]
    lines += [
        f"{i.file} {i.onset!r} {i.offset!r} {i.phone} {i.prev} {i.next} {i.speaker}" for i in items
    ]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p
