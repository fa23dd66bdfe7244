"""Orpheus TTS's ids for SNAC 24 kHz codes: pattern ``orpheus`` over a per-slot vocabulary
(``audiotok.feed.slots``). Position p of every group of 7 has its own range:
``id = offset + p * 4096 + code``, read back by ``code = id - offset - (index % 7) * 4096``
(Orpheus's offset 128,266 passed as the vocabulary's offset, never a default)."""

from __future__ import annotations

import numpy as np
import pytest

from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.vocab import VocabError, VocabSpec
from audiotok.spec import TokenSpec

ORPHEUS_OFFSET = 128266  # Llama 3's 128,256 text ids + Orpheus's 10 special tokens
SNAC24 = TokenSpec("acoustic", "snac-24khz", 24000, 46.875, 3, 4096,
                   codebook_frame_rates=(11.71875, 23.4375, 46.875))  # fmt: skip
SNAC32 = TokenSpec("acoustic", "snac-32khz", 32000, 83.33, 4, 4096,
                   codebook_frame_rates=(83.33 / 8, 83.33 / 4, 83.33 / 2, 83.33))  # fmt: skip
ENCODEC = TokenSpec("acoustic", "enc", 24000, 75.0, 3, 1024)


def _source(spec):
    class Src:
        pass

    Src.spec = spec
    return Src()


def _codes(spec, groups, seed=0):
    """[K, T'] in the store's repeated layout: codebook k's codes each repeated stride_k times."""
    g = np.random.default_rng(seed)
    t = groups * max(spec.strides)
    return np.stack([np.repeat(g.integers(0, spec.codebook_size, t // s), s)
                     for s in spec.strides])  # fmt: skip


def test_two_frames_by_hand_follow_orpheus_formula():
    c0, c1, c2 = [5, 4095], [0, 1, 2, 3], [10, 11, 12, 13, 20, 21, 22, 23]
    codes = np.stack([np.repeat(c0, 4), np.repeat(c1, 2), c2])
    vocab = VocabSpec.build([SNAC24], positions="per_slot", offset=ORPHEUS_OFFSET)
    enc = FeedEncoder.for_source(_source(SNAC24), "orpheus", vocab=vocab, eos=False)
    ids = enc.encode(codes).tokens
    order = [c0[0], c1[0], c2[0], c2[1], c1[1], c2[2], c2[3],
             c0[1], c1[2], c2[4], c2[5], c1[3], c2[6], c2[7]]  # fmt: skip
    want = [ORPHEUS_OFFSET + (i % 7) * 4096 + code for i, code in enumerate(order)]
    assert ids.tolist() == want
    assert [int(x) - ORPHEUS_OFFSET - (i % 7) * 4096 for i, x in enumerate(ids)] == order
    np.testing.assert_array_equal(enc.decode(ids), codes)
    assert [s.offset for s in vocab.streams] == [ORPHEUS_OFFSET + p * 4096 for p in range(7)]
    assert vocab.dtype == "int32" and vocab.special("pad") == ORPHEUS_OFFSET + 7 * 4096
    assert enc.length(8) == 14


def test_default_orpheus_vocabulary_is_per_slot_from_zero_and_saves():
    enc = FeedEncoder.for_source(_source(SNAC24), "orpheus", eos=False)
    v = enc.vocab
    assert [s.name for s in v.streams] == [
        "snac-24khz.c0.s0", "snac-24khz.c1.s0", "snac-24khz.c2.s0", "snac-24khz.c2.s1",
        "snac-24khz.c1.s1", "snac-24khz.c2.s2", "snac-24khz.c2.s3",
    ]  # fmt: skip
    assert [(s.codebook, s.phase, s.group) for s in v.streams] == [
        (0, 0, 4), (1, 0, 4), (2, 0, 4), (2, 1, 4), (1, 2, 4), (2, 2, 4), (2, 3, 4)
    ]  # fmt: skip
    assert v.streams[0].offset == 0 and v.vocab_size == 7 * 4096 + 4
    back = VocabSpec.from_dict(v.to_dict())
    assert back == v
    codes = _codes(SNAC24, 5)
    again = FeedEncoder.for_source(_source(SNAC24), "orpheus", vocab=back, eos=False)
    np.testing.assert_array_equal(again.decode(enc.encode(codes).tokens), codes)


def test_per_slot_coarse_to_fine_serves_other_strides():
    codes = _codes(SNAC32, 3)
    vocab = VocabSpec.build([SNAC32], positions="per_slot")
    assert len(vocab.streams) == 15
    enc = FeedEncoder.for_source(_source(SNAC32), "coarse_to_fine", vocab=vocab)
    out = enc.encode(codes).tokens
    assert len(out) == 3 * 15 + 1 == enc.length(24)
    ranges = (out[:-1].reshape(3, 15) - np.arange(15) * 4096) // 4096
    assert (ranges == 0).all()  # position p's ids lie in range p
    np.testing.assert_array_equal(enc.decode(out), codes)


@pytest.mark.parametrize(("spec", "needle"), [(SNAC32, "[8, 4, 2, 1]"), (ENCODEC, "[1, 1, 1]")])
def test_orpheus_refuses_other_shapes_in_one_line(spec, needle):
    with pytest.raises(VocabError) as e:
        FeedEncoder.for_source(_source(spec), "orpheus")
    msg = str(e.value)
    assert "\n" not in msg and needle in msg and "4, 2, 1" in msg and spec.name in msg
    vocab = VocabSpec.build([SNAC32], positions="per_slot")  # explicit vocabulary too
    with pytest.raises(VocabError, match="strides 4, 2, 1"):
        FeedEncoder.for_source(_source(SNAC32), "orpheus", vocab=vocab)


def test_per_slot_vocabulary_mismatches_are_one_line():
    per_codebook = VocabSpec.build([SNAC24])
    with pytest.raises(VocabError, match="positions='per_slot'"):
        FeedEncoder.for_source(_source(SNAC24), "orpheus", vocab=per_codebook)
    per_slot = VocabSpec.build([SNAC24], positions="per_slot")
    with pytest.raises(VocabError, match="per-slot vocabulary"):
        FeedEncoder.for_source(_source(SNAC24), "flatten", vocab=per_slot)
    with pytest.raises(VocabError, match="all run at one frame rate"):
        VocabSpec.build([ENCODEC], positions="per_slot")
    with pytest.raises(VocabError, match="every codebook"):
        VocabSpec.build([SNAC24], positions="per_slot", codebooks=[[0, 1]])
    with pytest.raises(VocabError, match="unknown positions"):
        VocabSpec.build([SNAC24], positions="per_position")
    with pytest.raises(VocabError, match="offset"):
        VocabSpec.build([SNAC24], layout="separate", offset=10)
    d = per_slot.to_dict()
    d["streams"][1], d["streams"][2] = d["streams"][2], d["streams"][1]
    d["streams"][1]["offset"], d["streams"][2]["offset"] = 4096, 2 * 4096
    with pytest.raises(VocabError, match="not the coarse_to_fine order"):
        FeedEncoder.for_source(_source(SNAC24), "orpheus", vocab=VocabSpec.from_dict(d))
    d = per_slot.to_dict()
    d["streams"][3]["phase"] = 4
    with pytest.raises(VocabError, match="phase < group"):
        VocabSpec.from_dict(d)


def test_frames_not_whole_groups_are_refused():
    enc = FeedEncoder.for_source(_source(SNAC24), "orpheus")
    with pytest.raises(VocabError, match="groups of 4"):
        enc.encode(_codes(SNAC24, 2)[:, :6])
