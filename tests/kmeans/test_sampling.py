"""Out-of-core sampling: fairseq dumps and plain arrays, seeded, never past the memory budget."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from audiotok.errors import AudiotokError
from audiotok.kmeans.features import open_features
from audiotok.kmeans.sampling import frames_for, sample

DIM = 32


def write_fairseq(root, split="train", nshard=2, utts=300, seed=0):
    rng = np.random.default_rng(seed)
    lens_all = []
    for rank in range(nshard):
        lens = rng.integers(5, 120, size=utts)
        x = np.concatenate(
            [np.full((n, DIM), rank * 10_000 + i, np.float32) for i, n in enumerate(lens)]
        )
        np.save(root / f"{split}_{rank}_{nshard}.npy", x)
        (root / f"{split}_{rank}_{nshard}.len").write_text("\n".join(map(str, lens)) + "\n")
        lens_all.extend(lens.tolist())
    return lens_all


def peak_during(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def test_fairseq_dump_is_read_utterance_by_utterance(tmp_path):
    lens = write_fairseq(tmp_path)
    src = open_features(tmp_path, layer=6, extractor="hubert-base-ls960", frame_rate=50)
    assert src.info.dim == DIM and src.info.layer == 6 and len(src.lengths()) == 600
    assert src.lengths().tolist() == lens
    u = src.read(300 + 7)  # shard 1, utterance 7: rows hold 10000 + 7
    assert len(u) == lens[307] and (u == 10_007).all()


@pytest.mark.parametrize("budget", [200_000, 1_000_000])
def test_sample_never_holds_more_than_the_budget(tmp_path, budget):
    write_fairseq(tmp_path, utts=400)  # 2 x 400 utterances, ~2 x 25k frames, ~6 MB
    src = open_features(tmp_path)
    max_frames = frames_for(budget, DIM)
    smp, peak = peak_during(lambda: sample(src, max_frames=max_frames, seed=3))
    assert smp.nbytes <= budget and peak <= budget, (smp.nbytes, peak, budget)
    assert len(smp.feats) > 0.9 * max_frames  # and it does use the budget
    # whole utterances: every row value appears exactly as often as that utterance is long
    lengths = src.lengths()
    ids = [int(v) for v in np.unique(smp.feats[:, 0])]
    assert sum(lengths[(i // 10_000) * 400 + i % 10_000] for i in ids) == len(smp.feats)


def test_sample_is_seeded(tmp_path):
    write_fairseq(tmp_path)
    src = open_features(tmp_path)
    a = sample(src, max_frames=5000, seed=1)
    b = sample(src, max_frames=5000, seed=1)
    c = sample(src, max_frames=5000, seed=2)
    assert a.items == b.items and np.array_equal(a.feats, b.feats)
    assert a.items != c.items


def test_plain_array_rows_sampled_within_budget(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200_000, DIM)).astype(np.float32)  # 25.6 MB on disk
    x[:, 0] = np.arange(len(x))
    np.save(tmp_path / "feats.npy", x)
    src = open_features(tmp_path / "feats.npy")
    budget = 2_000_000
    smp, peak = peak_during(lambda: sample(src, max_frames=frames_for(budget, DIM), seed=0))
    assert peak <= budget and smp.nbytes <= budget
    rows = smp.feats[:, 0].astype(np.int64)
    assert len(np.unique(rows)) == len(rows) == frames_for(budget, DIM)  # no repeats
    np.testing.assert_array_equal(smp.feats, x[rows])
    assert rows.min() < 20_000 and rows.max() > 180_000  # drawn across the whole file
    small = sample(src, max_frames=10**9, seed=0)
    assert len(small.feats) == len(x)


def test_layouts_and_errors(tmp_path):
    write_fairseq(tmp_path, split="train")
    write_fairseq(tmp_path, split="valid", nshard=1)
    with pytest.raises(AudiotokError, match="--split"):
        open_features(tmp_path)
    assert len(open_features(tmp_path, split="valid").lengths()) == 300
    (tmp_path / "valid_0_1.len").write_text("1\n2\n")
    with pytest.raises(AudiotokError, match="different runs"):
        open_features(tmp_path, split="valid")
    with pytest.raises(AudiotokError, match="--model"):
        open_features(tmp_path / "train_0_2.len")
    with pytest.raises(AudiotokError, match="budget"):
        sample(open_features(tmp_path, split="train"), max_frames=0)
