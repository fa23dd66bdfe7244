"""ABX pieces with known answers: the DTW, the items, units, and ``audiotok eval abx``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from abx_synth import RATE, corpus, write_alignments

from audiotok.cli.app import main
from audiotok.errors import AudiotokError
from audiotok.metrics.abx import abx, frame_span
from audiotok.metrics.abx_dtw import dtw, normalize_with_singularity
from audiotok.metrics.abx_items import (
    items_from_alignments,
    read_item_file,
    speaker_from_id,
    write_item_file,
)
from audiotok.metrics.abx_sources import unit_vectors
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter


@pytest.fixture(autouse=True)
def one_thread():
    """Two OpenMP threads on a shared 2-core machine wait on each other (tests/vocoders)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_dtw_known_answers():
    # equal sequences: cost 0; a 1x3 against 1x1: the path has 3 cells
    d = torch.tensor([[[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]]])
    assert dtw(d, torch.tensor([3]), torch.tensor([3])).item() == 0.0
    d2 = torch.tensor([[[1.0, 2.0, 3.0]]])
    assert dtw(d2, torch.tensor([1]), torch.tensor([3])).item() == pytest.approx(6.0 / 3)
    # padding beyond the valid sizes never leaks in: the same pair padded differently
    x = torch.rand(1, 4, 5, generator=torch.Generator().manual_seed(0))
    big = torch.full((1, 7, 9), 100.0)
    big[:, :4, :5] = x
    assert dtw(big, torch.tensor([4]), torch.tensor([5])) == dtw(
        x, torch.tensor([4]), torch.tensor([5])
    )
    # a diagonal path of length 2 through (0,0)=1 and (1,1)=3
    d3 = torch.tensor([[[1.0, 9.0], [9.0, 3.0]]])
    assert dtw(d3, torch.tensor([2]), torch.tensor([2])).item() == pytest.approx(2.0)


def test_null_frames_sit_at_the_largest_cosine_distance():
    x = normalize_with_singularity(torch.tensor([[3.0, 4.0], [0.0, 0.0], [0.0, 0.0]]))
    cos = (x @ x.T).clamp(-1, 1).acos() / torch.pi
    assert cos[0, 1].item() == pytest.approx(1.0) and cos[1, 2].item() == 0.0
    assert x[0, :2].tolist() == pytest.approx([0.6, 0.8])


def test_frame_span_is_libri_lights_rule():
    assert frame_span(0.10, 0.20, 100.0, 1000) == (10, 19)
    assert frame_span(0.0, 0.05, 50.0, 1000) == (0, 2)
    assert frame_span(9.0, 10.0, 100.0, 950) == (900, 950)


def test_item_file_and_alignments_give_the_same_items(tmp_path):
    _, aligns, items = corpus(speakers=2, utterances=1)
    got = items_from_alignments(write_alignments(aligns, tmp_path / "al"))
    assert sorted(got, key=str) == sorted(items, key=str)
    back = read_item_file(write_item_file(items, tmp_path / "x.item"))
    assert back == items
    (tmp_path / "bad.item").write_text("#header\nu1 0.1 0.2 a b\n")
    with pytest.raises(AudiotokError, match="bad.item:2: expected 7 fields"):
        read_item_file(tmp_path / "bad.item")
    assert speaker_from_id("84-121123-0000") == "84" and speaker_from_id("spk3/u1") == "spk3"


def test_alignment_items_skip_silence_and_take_a_speaker_file(tmp_path):
    (tmp_path / "u1.tsv").write_text("0\t0.1\tsil\n0.1\t0.2\ta\n0.2\t0.3\tb\n0.3\t0.4\tsil\n")
    got = items_from_alignments(tmp_path, speaker_of={"u1": "alice"})
    assert [(i.phone, i.prev, i.next, i.speaker) for i in got] == [
        ("a", "sil", "b", "alice"),
        ("b", "a", "sil", "alice"),
    ]


def test_unit_vectors():
    codes = np.array([[0, 2, 1], [1, 1, 0]])
    one = unit_vectors(codes, 3)
    assert one.shape == (3, 6) and one[1].tolist() == [0, 0, 1, 0, 1, 0]
    cent = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert unit_vectors(codes, 3, embedding="centroids", centroids=cent, codebooks=[0])[
        1
    ].tolist() == [4, 5]
    with pytest.raises(AudiotokError, match="out of range"):
        unit_vectors(codes, 3, codebooks=[2])


def test_separable_features_score_zero_and_noise_scores_chance():
    feats, _, items = corpus(noise=0.05, speaker_shift=0.0)
    clean = abx(feats.items(), items, RATE)["scores"]
    assert all(v == 0.0 for v in clean.values())
    rng = np.random.default_rng(1)
    noise = {u: rng.normal(size=x.shape).astype(np.float32) for u, x in feats.items()}
    chance = abx(noise.items(), items, RATE)["scores"]
    assert all(35 < v < 65 for v in chance.values()), chance


def test_bad_options_are_one_line():
    feats, _, items = corpus(speakers=2, utterances=1)
    with pytest.raises(AudiotokError, match="unknown ABX distance"):
        abx(feats.items(), items, RATE, distance="dot")
    with pytest.raises(AudiotokError, match="no ABX item has frames"):
        abx([("other", np.zeros((10, 4)))], items, RATE)


def _store(tmp_path, aligns):
    """Codebook 0: the phone (plus a speaker-dependent variant); codebook 1: random."""
    spec = TokenSpec("hybrid", "toy", 16000, RATE, 2, 8, semantic_codebooks=(0,))
    rng = np.random.default_rng(0)
    w = TokenWriter(tmp_path / "tok", spec)
    for uid, segs in aligns.items():
        n = int(round(segs[-1][1] * RATE))
        c0 = np.zeros(n, dtype=np.int64)
        for on, off, ph in segs:
            c0[int(round(on * RATE)) : int(round(off * RATE))] = "abc".index(ph)
        w.add(uid, f"{uid}.wav", n / RATE, np.stack([c0, rng.integers(0, 8, n)]))
    w.close()
    return tmp_path / "tok"


def test_eval_abx_cli_on_a_token_store(tmp_path, capsys):
    _, aligns, _ = corpus(speakers=2, utterances=2, length=10)
    tok = _store(tmp_path, aligns)
    align = write_alignments(aligns, tmp_path / "al")

    def run(*args):
        with pytest.raises(SystemExit) as e:
            main(["eval", "abx", str(tok), "--align", str(align), "--json", *args])
        assert e.value.code == 0
        return json.loads(capsys.readouterr().out)

    phonetic = run("--codebooks", "0", "--html", str(tmp_path / "rep"))
    assert all(v == 0.0 for v in phonetic["scores"].values())
    random = run("--codebooks", "1")
    assert all(30 < v < 70 for v in random["scores"].values()), random["scores"]
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "ABX error rates" in page and "triphone, within speaker" in page
    with pytest.raises(SystemExit) as e:
        main(["eval", "abx", str(tok)])
    assert e.value.code == 2
    assert "exactly one of --align" in capsys.readouterr().err


def test_eval_abx_on_audio_and_on_a_feature_store(tmp_path, capsys):
    """MFCCs of tones and noise (exact alignments): the audio path and the feature store of
    the same extractor give the same scores, far below chance."""
    from abx_synth import phone_corpus

    phone_corpus(tmp_path / "corpus", tmp_path / "align", speakers=2, utts=2)
    with pytest.raises(SystemExit) as e:
        main(
            ["extract", str(tmp_path / "corpus"), "-o", str(tmp_path / "feats"), "--model", "mfcc"]
        )
    assert e.value.code == 0
    capsys.readouterr()
    scores = []
    for src in (["feats"], ["corpus", "--model", "mfcc"]):
        with pytest.raises(SystemExit) as e:
            main(["eval", "abx", str(tmp_path / src[0]), *src[1:],
                  "--align", str(tmp_path / "align"), "--json"])  # fmt: skip
        assert e.value.code == 0
        r = json.loads(capsys.readouterr().out)
        assert r["speakers"] == 2 and r["frame_rate"] == 100.0
        scores.append(r["scores"])
    assert scores[0] == pytest.approx(scores[1], abs=0.5)  # the store is float16
    assert scores[0]["phoneme_within"] < 20 and scores[0]["phoneme_across"] < 30
    # the same MFCCs as mfcc-km100 units: centroids (the store's own codebook) and one-hot
    with pytest.raises(SystemExit) as e:
        main(["encode", str(tmp_path / "corpus"), "-o", str(tmp_path / "tok"), "-q",
              "--num-workers", "0"])  # fmt: skip
    assert e.value.code == 0
    capsys.readouterr()
    units = {}
    for emb in ("centroids", "onehot"):
        with pytest.raises(SystemExit) as e:
            main(["eval", "abx", str(tmp_path / "tok"), "--units", emb,
                  "--align", str(tmp_path / "align"), "--json"])  # fmt: skip
        assert e.value.code == 0
        units[emb] = json.loads(capsys.readouterr().out)["scores"]
    assert units["centroids"]["phoneme_within"] < 25
    assert units["centroids"] != units["onehot"]


@pytest.mark.parametrize("distance", ["cosine", "kl"])
def test_pair_costs_are_the_same_from_the_full_matrix_and_per_batch(distance):
    """Small corpora read blocks of one frame-distance matrix; large ones compute each
    batch's distances: same costs (to float rounding), and each equals a lone DTW."""
    from audiotok.metrics.abx_dtw import DISTANCES, pair_costs

    g = torch.Generator().manual_seed(0)
    sizes = torch.randint(1, 9, (30,), generator=g)
    starts = torch.cumsum(sizes, 0) - sizes
    frames = torch.rand(int(sizes.sum()), 5, generator=g)
    frames = normalize_with_singularity(frames) if distance == "cosine" else frames
    pairs = torch.randint(0, 30, (200, 2), generator=g)
    full = pair_costs(frames, starts, sizes, pairs, distance)
    batched = pair_costs(frames, starts, sizes, pairs, distance, max_cells=200)
    # arccos near 1 turns a last-bit difference of a dot product into ~1e-4 (equal frames)
    assert torch.allclose(full, batched, atol=1e-3)
    assert (full - batched).abs().median() < 1e-6
    a, b = pairs[7]
    xa = frames[starts[a] : starts[a] + sizes[a]][None]
    xb = frames[starts[b] : starts[b] + sizes[b]][None]
    alone = dtw(DISTANCES[distance](xa, xb), sizes[a][None], sizes[b][None])
    assert full[7].item() == pytest.approx(alone.item(), abs=1e-5)
