"""The per-codebook probe on hand-built codes with known answers."""

from __future__ import annotations

import types

import numpy as np
import pytest

from audiotok.errors import AudiotokError
from audiotok.kmeans.metrics import frame_phone_stats, phone_stats
from audiotok.metrics.codebooks import (
    format_table,
    plot_codebooks,
    probe_codebooks,
    probe_store,
)

PHONES = ["a", "b", "c", "d", "e"]
FR = 50.0  # frames of 20 ms; each phone segment lasts 0.1 s = 5 frames


def corpus(tmp_path, n_utts=6, segs=20, seed=0):
    """Codes [3, T'] per utterance: codebook 0 is the phone's index, codebook 1 uniform noise
    over 16 of 64 entries, codebook 2 constant; alignments in <id>.tsv."""
    rng = np.random.default_rng(seed)
    align = tmp_path / "align"
    align.mkdir()
    utts = []
    for u in range(n_utts):
        seq = rng.integers(0, len(PHONES), segs)
        lines = ["start\tend\tphone"]
        for i, p in enumerate(seq):
            lines.append(f"{i * 0.1:.3f}\t{(i + 1) * 0.1:.3f}\t{PHONES[p]}")
        (align / f"utt{u}.tsv").write_text("\n".join(lines) + "\n")
        c0 = np.repeat(seq, 5)
        t = len(c0) + 3  # three trailing frames outside any segment
        c0 = np.concatenate([c0, [7, 7, 7]])
        codes = np.stack([c0, rng.integers(0, 16, t), np.full(t, 5)]).astype(np.uint16)
        utts.append((f"utt{u}", codes))
    utts.append(("no_alignment", np.zeros((3, 10), np.uint16)))
    return utts, align


def test_known_answers_alone_and_for_prefixes(tmp_path):
    utts, align = corpus(tmp_path)
    r = probe_codebooks(utts, align, FR, codebook_size=64)
    assert (r["utterances"], r["aligned_utterances"], r["num_codebooks"]) == (7, 6, 3)
    assert r["aligned_frames"] == 6 * 100 and r["frames"] == 6 * 103
    c0, c1, c2 = r["codebooks"]
    assert c0["pnmi"] == pytest.approx(1.0) and c0["phone_purity"] == pytest.approx(1.0)
    assert c1["pnmi"] < 0.1 and c1["phone_purity"] < 0.45  # noise: near chance
    assert c2["pnmi"] == 0.0 and c2["entropy_bits"] == 0.0 and c2["used"] == 1
    assert c1["entropy_bits"] == pytest.approx(4.0, abs=0.1) and c1["dead"] == 48
    p0, p01, p012 = r["prefixes"]
    assert p0["pnmi"] == pytest.approx(1.0) and p01["pnmi"] == pytest.approx(1.0)
    assert p01["phone_purity"] == pytest.approx(1.0)
    h0, h1 = c0["entropy_bits"], c1["entropy_bits"]
    assert p01["entropy_bits"] == pytest.approx(h0 + h1, abs=0.4)  # independent codebooks
    assert p012["entropy_bits"] == pytest.approx(p01["entropy_bits"])  # a constant adds nothing
    assert p012["used"] == p01["used"] > 16


def test_a_store_gives_rate_size_and_semantic_codebooks(tmp_path):
    utts, align = corpus(tmp_path, n_utts=2)
    spec = types.SimpleNamespace(
        name="toy", frame_rate=FR, codebook_size=64, semantic_codebooks=(0,)
    )
    store = type("Store", (), {"spec": spec, "__iter__": lambda self: iter(utts)})()
    r = probe_store(store, align, max_prefix=2)
    assert r["name"] == "toy" and r["semantic_codebooks"] == [0] and r["codebook_size"] == 64
    assert len(r["codebooks"]) == 3 and len(r["prefixes"]) == 2
    table = format_table(r)
    assert "0*" in table and "semantic codebook" in table and "0..1" in table
    png = plot_codebooks(r, tmp_path / "probe.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_sparse_counts_equal_the_dense_ones():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 7, 5000)
    z = (y * 3 + rng.integers(0, 4, 5000)) % 40  # some dependence
    joint = np.zeros((7, 40), np.int64)
    np.add.at(joint, (y, z), 1)
    dense, sparse = phone_stats(joint), frame_phone_stats(y, z)
    assert dense.keys() == sparse.keys()
    for key in dense:
        assert sparse[key] == pytest.approx(dense[key], rel=1e-9)


def test_bad_inputs_are_clear(tmp_path):
    utts, align = corpus(tmp_path, n_utts=1)
    with pytest.raises(AudiotokError, match="not a directory"):
        probe_codebooks(utts, tmp_path / "nowhere", FR)
    with pytest.raises(AudiotokError, match="matches an utterance id"):
        probe_codebooks([("other", np.zeros((3, 5), np.uint16))], align, FR)
    with pytest.raises(AudiotokError, match="codebooks"):
        probe_codebooks([utts[0], ("utt9", np.zeros((2, 5), np.uint16))], align, FR)
    with pytest.raises(AudiotokError, match="outside a codebook"):
        probe_codebooks(utts, align, FR, codebook_size=8)
