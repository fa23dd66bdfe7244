"""Sources: a store read block by block equals the store; joins align by time."""

from dataclasses import replace

import numpy as np
import pytest
from feed_helpers import ACU, SEM, random_items, write_store

from audiotok.errors import AudiotokError
from audiotok.feed.align import JoinedSource, align, split_aligned
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.source import (
    BlockReader,
    InMemorySource,
    SubsetSource,
    TokenSource,
    as_source,
)
from audiotok.spec import TokenSpec


@pytest.mark.parametrize("spec", [SEM, ACU])
def test_store_blocks_equal_the_store(tmp_path, spec):
    items = random_items(spec, 11, seed=1)
    src = as_source(write_store(tmp_path / "s", spec, items, shard_size=4))
    assert isinstance(src, TokenSource)
    assert len(src) == 11 and src.ids() == list(items)
    reader = BlockReader(src)
    assert reader.sizes == [4, 4, 3]
    got = {}
    for b in range(len(reader)):
        block = reader.read(b)
        got.update({block.ids[i]: block.codes(i) for i in range(len(block))})
    assert list(got) == list(items)
    for uid, codes in items.items():
        assert got[uid].shape == codes.shape and (got[uid] == codes).all()
        assert (src.get(uid) == codes).all()  # [K, T'] also for K = 1 (adapter)
    assert all(c.ndim == 2 for _, c in src)


def test_subset_of_a_store_reads_only_its_ids(tmp_path):
    items = random_items(ACU, 10, seed=2)
    src = as_source(write_store(tmp_path / "s", ACU, items, shard_size=4))
    keep = list(items)[1::3]
    sub = SubsetSource(src, keep)
    reader = BlockReader(sub)
    assert sum(reader.sizes) == len(keep) == len(sub)
    got = {}
    for b in range(len(reader)):
        block = reader.read(b)
        got.update({block.ids[i]: block.codes(i) for i in range(len(block))})
    assert list(got) == keep and all((got[i] == items[i]).all() for i in keep)
    with pytest.raises(AudiotokError, match="not in the source"):
        SubsetSource(src, ["nope"])


def test_in_memory_source_and_bad_input():
    src = InMemorySource(SEM, {"a": [1, 2, 3], "b": np.zeros((1, 0), int)}, block_size=1)
    assert src.get("a").shape == (1, 3) and len(src) == 2 and "b" in src
    assert BlockReader(src).sizes == [1, 1]
    with pytest.raises(KeyError):
        src.get("zz")
    with pytest.raises(AudiotokError, match="K=4"):
        InMemorySource(ACU, {"a": np.zeros((2, 3), int)})
    with pytest.raises(AudiotokError, match="integers"):
        InMemorySource(SEM, {"a": np.zeros((1, 3))})
    with pytest.raises(AudiotokError, match="not a token source"):
        as_source(42)


def test_alignment_rule_50_and_75_hz():
    sem = np.arange(10)[None, :]  # 10 frames at 50 Hz = 0.2 s
    acu = np.stack([np.arange(15), 100 + np.arange(15)])  # 15 frames at 75 Hz
    j = align([sem, acu], [50.0, 75.0])
    assert j.shape == (3, 15)
    assert j[0].tolist() == [0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9]
    assert (j[1:] == acu).all()
    back = split_aligned(j, [1, 2], [50.0, 75.0])
    assert (back[0] == sem).all() and (back[1] == acu).all()
    # framing slack: the joined example stops where the shorter store stops
    j2 = align([sem[:, :9], acu], [50.0, 75.0])
    assert j2.shape[1] == 14  # ceil(9 * 75 / 50)
    b0, b1 = split_aligned(j2, [1, 2], [50.0, 75.0])
    assert (b0 == sem[:, :9]).all() and (b1 == acu[:, :14]).all()
    # 12.5 Hz with 50 Hz: each slow frame covers four fast frames
    assert align([np.arange(3)[None], np.zeros((1, 12), int)], [12.5, 50.0])[0].tolist() == [
        0,
        0,
        0,
        0,
        1,
        1,
        1,
        1,
        2,
        2,
        2,
        2,
    ]
    for t in (0, 1):
        assert align([sem[:, :t], acu[:, :t]], [50.0, 75.0]).shape[1] == t


def test_join_two_stores_of_one_corpus(tmp_path):
    rng = np.random.default_rng(0)
    sem_items, acu_items = {}, {}
    for i in range(5):
        t = int(rng.integers(1, 30))
        sem_items[f"u{i}"] = rng.integers(0, 50, (1, t))
        acu_items[f"u{i}"] = rng.integers(0, 64, (4, (t * 3) // 2))
    sem = as_source(write_store(tmp_path / "sem", SEM, sem_items))
    acu = as_source(write_store(tmp_path / "acu", ACU, acu_items))
    joined = JoinedSource([sem, acu])
    assert joined.frame_rate == 75.0 and joined.spec.num_codebooks == 5
    assert joined.spec.semantic_codebooks == (0,)
    for uid, codes in joined:
        s, a = joined.split(codes)
        assert (s == sem_items[uid][:, : s.shape[1]]).all()
        assert (a == acu_items[uid][:, : a.shape[1]]).all()
        assert a.shape[1] == acu_items[uid].shape[1]  # the faster store keeps every frame
    enc = FeedEncoder.for_source(joined, "multistream")
    assert [s.delay for s in enc.vocab.streams] == [0, 1, 1, 1, 1]  # Moshi's rule
    out = enc.encode(joined.get("u0"))
    assert (enc.decode(out.tokens) == joined.get("u0")).all()
    with pytest.raises(AudiotokError, match="acoustic"):
        FeedEncoder.for_source(joined, "flatten", dedup=True)

    other = replace(SEM, name="other-km50")
    short = as_source(write_store(tmp_path / "short", other, {"u0": sem_items["u0"]}))
    with pytest.raises(AudiotokError, match="missing"):
        JoinedSource([acu, short])
    assert JoinedSource([acu, short], on_missing="skip").ids() == ["u0"]
    wrong = InMemorySource(
        TokenSpec("semantic", "w", 16000, 50.0, 1, 50),
        {uid: np.zeros((1, 200), int) for uid in acu_items},
    )
    with pytest.raises(AudiotokError, match="different durations"):
        JoinedSource([acu, wrong]).get("u1")
    with pytest.raises(AudiotokError, match="same tokenizer"):
        JoinedSource([acu, acu])


def test_store_blocks_come_from_the_flat_codes_not_parquet(tmp_path, monkeypatch):
    """The feed reads a store through store/'s reader: the memory-mapped flat codes, block
    sizes from the manifest; no Parquet codes column is decoded (issue #20 point 4)."""
    import pyarrow.parquet as pq

    import audiotok.store.reader as reader
    from audiotok.feed.iterable import TokenIterableDataset

    items = random_items(ACU, 9, seed=3, min_t=1)
    store = write_store(tmp_path / "s", ACU, items, shard_size=4)

    def no_parquet(*a, **k):
        raise AssertionError("the codes column was decoded from Parquet")

    monkeypatch.setattr(reader, "shard_codes", no_parquet)
    read_table = pq.read_table

    def ids_and_frames_only(path, columns=None, **k):
        if columns is None or "codes" in columns:
            no_parquet()
        return read_table(path, columns=columns, **k)

    monkeypatch.setattr(pq, "read_table", ids_and_frames_only)
    ds = TokenIterableDataset(store, context_length=8, batch_size=2, shuffle=False)
    labels = [b["labels"] for b in ds]
    assert (
        sum(int((x != -100).sum()) for x in labels) == sum(c.size + 1 for c in items.values()) - 1
    )  # every token of the stream but the first is a label once
