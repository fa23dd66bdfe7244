"""Every pattern is invertible (T' = 0, 1 and more; K = 1 and more) and lays out as cited."""

import numpy as np
import pytest

from audiotok.feed.dedup import dedup, expand
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.patterns import PATTERNS, get_pattern
from audiotok.feed.vocab import VocabError, VocabSpec
from audiotok.spec import TokenSpec

E = 999  # the empty token in the raw-layout tests


@pytest.mark.parametrize("name", sorted(PATTERNS))
@pytest.mark.parametrize("rows", [1, 2, 4])
@pytest.mark.parametrize("frames", [0, 1, 2, 7])
def test_round_trip_every_pattern(name, rows, frames):
    p = get_pattern(name)
    rng = np.random.default_rng(rows * 10 + frames)
    ids = rng.integers(0, 500, size=(rows, frames))
    delays = np.arange(rows) if p.uses_delays else np.zeros(rows, np.int64)
    if name == "coarse_first" and rows > 1:
        delays = np.concatenate([[0], rng.integers(0, 3, rows - 1)])
    x = p.apply(ids, delays, E)
    back = p.invert(x, rows, delays, E)
    assert back.shape == (rows, frames) and (back == ids).all()
    steps = (x["ar"] if isinstance(x, dict) else x).shape[-1]
    assert steps == p.length(frames, rows, delays)


def test_delay_layout_matches_audiocraft_docstring():
    # audiocraft DelayedPatternProvider docstring: T=4, K=3, delays 0,1,2 ->
    # [[S,1,2,3,4],[S,S,1,2,3],[S,S,S,1,2]] (+ the trailing steps of the last codebook)
    ids = np.tile(np.arange(1, 5), (3, 1))
    x = get_pattern("delay").apply(ids, np.array([0, 1, 2]), E)
    assert x.tolist() == [
        [E, 1, 2, 3, 4, E, E],
        [E, E, 1, 2, 3, 4, E],
        [E, E, E, 1, 2, 3, 4],
    ]


def test_flatten_is_frame_major_and_coarse_first_puts_codebook_0_first():
    ids = np.array([[1, 2, 3], [11, 12, 13]])
    assert get_pattern("flatten").apply(ids, np.zeros(2, np.int64), E).tolist() == [
        1,
        11,
        2,
        12,
        3,
        13,
    ]
    x = get_pattern("coarse_first").apply(ids, np.zeros(2, np.int64), E)
    assert x.tolist() == [[E, 1, 2, 3, E, E, E], [E, E, E, E, 11, 12, 13]]
    v = get_pattern("valle").apply(ids, np.zeros(2, np.int64), E)
    assert v["ar"].tolist() == [1, 2, 3] and v["nar"].tolist() == [[11, 12, 13]]


def test_invert_refuses_codes_in_fill_positions():
    p = get_pattern("delay")
    x = p.apply(np.array([[1, 2], [3, 4]]), np.array([0, 1]), E)
    x[1, 1] = 5
    with pytest.raises(VocabError, match="outside the pattern"):
        p.invert(x, 2, np.array([0, 1]), E)


ACU = TokenSpec("acoustic", "enc", 24000, 75.0, 3, 16)
SEM = TokenSpec("semantic", "km", 16000, 50.0, 1, 20, semantic_codebooks=(0,))


# orpheus takes SNAC 24 kHz codes only (tests/feed/test_orpheus_ids.py)
PER_CODEBOOK = sorted(n for n, p in PATTERNS.items() if p.positions == "per_codebook")


@pytest.mark.parametrize("name", PER_CODEBOOK)
@pytest.mark.parametrize("frames", [0, 1, 9])
@pytest.mark.parametrize("bos", [False, True])
def test_encoder_round_trip_with_offsets_and_framing(name, frames, bos):
    class Src:
        spec = ACU

    layout = "separate" if name in ("valle", "parallel") else "shared"
    enc = FeedEncoder.for_source(Src(), name, layout=layout, bos=bos)
    codes = np.random.default_rng(frames).integers(0, 16, size=(3, frames))
    out = enc.encode(codes)
    assert out.frames == frames and out.durations is None
    assert (enc.decode(out.tokens) == codes).all()
    flat = out.tokens["ar"] if isinstance(out.tokens, dict) else out.tokens
    assert flat.shape[-1] == enc.length(frames)
    if name == "flatten" and frames:  # offsets of codebook k are 16 * k
        body = out.tokens[int(bos) : -1]
        assert (body.reshape(-1, 3) // 16 == [0, 1, 2]).all()
        assert out.tokens[-1] == enc.vocab.special("eos")


def test_dedup_round_trip_and_semantic_only():
    c = np.array([[3, 3, 3, 5, 5, 3, 7, 7, 7, 7]])
    u, d = dedup(c)
    assert u.tolist() == [[3, 5, 3, 7]] and d.tolist() == [3, 2, 1, 4]
    assert (expand(u, d) == c).all()
    for t in (0, 1):
        u, d = dedup(c[:, :t])
        assert (expand(u, d) == c[:, :t]).all()

    class Sem:
        spec = SEM

    enc = FeedEncoder.for_source(Sem(), "flatten", dedup=True, markers=True)
    out = enc.encode(c)
    v = enc.vocab
    assert out.tokens.tolist() == [
        v.special("<km>"),
        3,
        5,
        3,
        7,
        v.special("</km>"),
        v.special("eos"),
    ]
    assert (enc.decode(out.tokens, out.durations) == c).all()

    class Acu:
        spec = ACU

    with pytest.raises(VocabError, match="acoustic"):
        FeedEncoder.for_source(Acu(), "flatten", dedup=True)
    hyb = TokenSpec("hybrid", "st", 16000, 50.0, 2, 8, semantic_codebooks=(0,))

    class Hyb:
        spec = hyb

    with pytest.raises(VocabError, match="st.c1"):
        FeedEncoder.for_source(Hyb(), "flatten", dedup=True)
    v0 = VocabSpec.build([hyb], codebooks=[[0]])  # the semantic codebook alone: allowed
    enc = FeedEncoder.for_source(Hyb(), "flatten", vocab=v0, dedup=True)
    codes = np.array([[1, 1, 2], [5, 6, 7]])
    out = enc.encode(codes)
    assert out.tokens.tolist() == [1, 2, v0.special("eos")] and out.durations.tolist() == [2, 1]


def test_patterns_refuse_what_they_cannot_do():
    class Src:
        spec = ACU

    with pytest.raises(VocabError, match="shared"):
        FeedEncoder.for_source(Src(), "flatten", layout="separate")
    v = VocabSpec.build([ACU], delays="musicgen")
    with pytest.raises(VocabError, match="does not delay"):
        FeedEncoder.for_source(Src(), "parallel", vocab=v)
    with pytest.raises(VocabError, match="unknown pattern"):
        get_pattern("zigzag")
    with pytest.raises(VocabError, match="markers"):
        FeedEncoder.for_source(Src(), "delay", markers=True)
    other = VocabSpec.build([TokenSpec("acoustic", "enc", 24000, 75.0, 3, 32)])
    with pytest.raises(VocabError, match="codebook_size"):
        FeedEncoder.for_source(Src(), vocab=other)


@pytest.mark.parametrize("kernels", ["numpy", "numba"])
@pytest.mark.parametrize("options", [{}, {"bos": True, "markers": True}, {"dedup": True}])
def test_block_encoding_equals_encoding_each_document(options, kernels):
    from audiotok.feed.kernels import load
    from audiotok.feed.source import InMemorySource, _block_from_arrays

    spec = SEM if options.get("dedup") else ACU
    rng = np.random.default_rng(5)
    arrays = [rng.integers(0, spec.codebook_size, (spec.num_codebooks, t)) for t in (0, 3, 1, 8)]
    block = _block_from_arrays([f"u{i}" for i in range(4)], arrays, spec.num_codebooks)
    src = InMemorySource(spec, {f"u{i}": a for i, a in enumerate(arrays)})
    vocab = None
    if spec is ACU:  # feed codebooks 2 and 0 only, in that order
        vocab = VocabSpec.build([ACU], codebooks=[[2, 0]], markers=options.get("markers", False))
    enc = FeedEncoder.for_source(src, "flatten", vocab=vocab, **options)
    order = np.array([3, 0, 2, 1])
    tokens, lengths = enc.encode_block(block, order, load(kernels))
    each = [enc.encode(arrays[i]).tokens for i in order]
    assert lengths.tolist() == [len(x) for x in each]
    assert tokens.tolist() == np.concatenate(each).tolist()
    bad = _block_from_arrays(
        ["x"], [np.full((spec.num_codebooks, 2), spec.codebook_size)], spec.num_codebooks
    )
    with pytest.raises(VocabError, match="'x'|outside"):
        enc.encode_block(bad, np.array([0]), load(kernels))
