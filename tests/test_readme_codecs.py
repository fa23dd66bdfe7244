"""The README's codec table ("### Every codec") cannot go stale: every codec of the registry
(acoustic, hybrid, decoder, and the semantic tokenizers that load weights) has one row, every
row is a registry name, and each row's sample rate, frame rate(s), licence and bitrate agree
with the registry (what `audiotok models list` prints)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from audiotok import registry

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "### Every codec"


def _codecs() -> dict[str, registry.ModelEntry]:
    return {
        e.name: e
        for e in registry.entries()
        if e.kind in ("acoustic", "hybrid", "decoder") or (e.kind == "semantic" and not e.shipped)
    }


def _rows() -> dict[str, list[str]]:
    text = README.read_text()
    assert text.count(HEADING) == 1, f"README needs one {HEADING!r} section"
    lines = text.split(HEADING, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| model |"))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = re.findall(r"`([^`]+)`", cells[0])
        assert len(names) == 1, f"one model name per row: {line}"
        assert names[0] not in rows, f"{names[0]} has two rows"
        rows[names[0]] = cells
    return rows


def _numbers(cell: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", cell)]


def test_every_codec_has_a_row_and_every_row_is_a_codec():
    rows, codecs = _rows(), _codecs()
    assert sorted(set(codecs) - set(rows)) == [], "codecs missing from the README table"
    assert sorted(set(rows) - set(codecs)) == [], "README rows naming no registry codec"
    assert {"snac-24khz", "xcodec2", "mimi", "vocos-mel-24khz", "s3tokenizer-v2-25hz"} <= set(rows)


@pytest.mark.parametrize("name", sorted(_codecs()))
def test_each_row_agrees_with_the_registry(name):
    entry = _codecs()[name]
    _, _, audio, rates_cell, books, bitrate, licence = _rows()[name]
    assert licence == entry.license.split(" (")[0]  # as `audiotok models list` shows it
    assert _numbers(audio) == [entry.sample_rate]
    rates = _numbers(rates_cell)
    assert max(rates) == pytest.approx(entry.frame_rate, abs=0.05)  # the finest rate
    if books == "-":
        assert bitrate == "-"
        return
    m = re.match(r"(\d+)(?:-(\d+))? x ([\d,]+)", books)
    assert m, books
    ks = [int(m.group(1))] + ([int(m.group(2))] if m.group(2) else [])
    bits = math.log2(int(m.group(3).replace(",", "")))
    scale = 1000 if bitrate.endswith("kbps") else 1
    got = [x * scale for x in _numbers(bitrate)]
    if len(rates) > 1:  # multi-rate: every codebook at its own rate
        assert ks == [len(rates)]
        want = [sum(rates) * bits]
    else:
        want = [rates[0] * k * bits for k in ks]
    assert got == pytest.approx(want, rel=0.01)
