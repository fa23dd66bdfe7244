"""Datasets: random access, padding and masks, length buckets, packing with document
boundaries, sharding over ranks and workers, exact mid-epoch resume."""

from collections import Counter

import numpy as np
import pytest
import torch
from feed_helpers import ACU, random_items, write_store

import audiotok
from audiotok.errors import AudiotokError
from audiotok.feed.collate import LengthBucketSampler, block_causal_mask
from audiotok.feed.dataset import TokenDataset
from audiotok.feed.iterable import StatefulLoader, TokenIterableDataset
from audiotok.feed.source import InMemorySource
from audiotok.spec import TokenSpec

# Documents whose every code is its own index: a token names the document it came from.
IDX = TokenSpec("semantic", "idx", 16000, 50.0, 1, 1000, semantic_codebooks=(0,))


def idx_source(n=37, block_size=5, seed=0):
    rng = np.random.default_rng(seed)
    items = {f"d{i:03d}": np.full((1, int(rng.integers(1, 12))), i) for i in range(n)}
    return InMemorySource(IDX, items, block_size=block_size), items


def test_map_style_dataset_on_a_cli_store(cli_store):
    store = audiotok.open_tokens(str(cli_store))
    ds = TokenDataset(cli_store, pattern="flatten", dedup=True)
    assert len(ds) == len(store) == 30
    eos = ds.encoder.vocab.special("eos")
    for i in (0, 5, 29):
        ex = ds[i]
        codes = np.atleast_2d(dict(store)[ex["id"]])
        assert ex["input_ids"][-1] == eos
        back = ds.encoder.decode(ex["input_ids"].numpy(), ex["durations"].numpy())
        assert (back == codes).all()
        assert len(ex["input_ids"]) <= ds.lengths()[i]
    batch = ds.collate([ds[0], ds[3]])
    n0, n3 = len(ds[0]["input_ids"]), len(ds[3]["input_ids"])
    assert batch["input_ids"].shape == (2, max(n0, n3))
    assert batch["attention_mask"].sum(1).tolist() == [n0, n3] == batch["lengths"].tolist()
    pad = ds.encoder.pad_id
    short = int(np.argmin([n0, n3]))
    assert (batch["input_ids"][short, min(n0, n3) :] == pad).all()
    assert batch["ids"] == [ds[0]["id"], ds[3]["id"]]
    sampler = LengthBucketSampler(ds.lengths(), max_tokens=600, seed=1)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=ds.collate)
    ids = [i for b in loader for i in b["ids"]]
    assert sorted(ids) == sorted(ds.ids)


def test_length_bucket_sampler():
    lengths = np.random.default_rng(0).integers(1, 100, 203)
    s = LengthBucketSampler(lengths, max_tokens=400, seed=3)
    batches = list(s)
    assert sorted(i for b in batches for i in b) == list(range(203))
    assert all(len(b) * lengths[b].max() <= 400 for b in batches)
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 10  # similar lengths together
    s.set_epoch(1)
    assert list(s) != batches
    ranks = [
        LengthBucketSampler(lengths, batch_size=8, rank=r, world_size=3, drop_last=True)
        for r in range(3)
    ]
    got = [i for r in ranks for b in r for i in b]
    assert len(got) == len(set(got)) and len({len(r) for r in ranks}) == 1
    with pytest.raises(AudiotokError, match="max_tokens"):
        LengthBucketSampler(lengths, max_tokens=50)


def _stream(batches):
    """Per-batch token streams of packed batches: first input + every label."""
    out = []
    for b in batches:
        for ids, lab in zip(b["input_ids"], b["labels"], strict=True):
            real = lab != -100
            out.append((int(ids[0]), lab[real].tolist()))
    return out


def test_packing_keeps_documents_and_marks_boundaries():
    src, items = idx_source(n=9, block_size=4)
    ds = TokenIterableDataset(src, context_length=8, batch_size=3, shuffle=False)
    eos = ds.encoder.vocab.special("eos")
    batches = list(ds)
    assert all(b["input_ids"].shape[1] == 8 for b in batches)
    tokens = [batches[0]["input_ids"][0, 0].item()]
    for b in batches:
        lab = b["labels"][b["labels"] != -100]
        tokens += lab.tolist()
    expected = [t for i in range(9) for t in [*items[f"d{i:03d}"][0].tolist(), eos]]
    assert tokens == expected  # every token once, in order, EOS between documents
    b = batches[0]
    for row in range(b["input_ids"].shape[0]):
        ids, docs, pos = b["input_ids"][row], b["doc_ids"][row], b["position_ids"][row]
        assert docs[0] == 0 and (torch.diff(docs) >= 0).all()
        after_eos = torch.nonzero(ids[:-1] == eos).flatten() + 1
        assert (docs[after_eos] == docs[after_eos - 1] + 1).all()
        assert (pos[after_eos] == 0).all()
    mask = block_causal_mask(b["doc_ids"])
    assert mask.shape == (3, 8, 8) and not mask[0].triu(1).any()
    d = b["doc_ids"][0]
    assert (mask[0] == ((d[:, None] == d[None, :]) & torch.ones(8, 8).tril().bool())).all()
    last = batches[-1]
    assert (last["attention_mask"] == (last["labels"] != -100)).all()


def test_packing_refuses_row_patterns():
    src = InMemorySource(ACU, random_items(ACU, 3))
    with pytest.raises(AudiotokError, match="flat"):
        TokenIterableDataset(src, pattern="delay", context_length=16)
    ds = TokenIterableDataset(src, pattern="delay", batch_size=2)  # padded batches instead
    b = next(iter(ds))
    assert b["input_ids"].ndim == 3 and b["input_ids"].shape[:2] == (2, 4)
    v = TokenDataset(src, pattern="valle", layout="separate")
    b = v.collate([v[0], v[1], v[2]])
    frames = [v[i]["nar"].shape[1] for i in range(3)]
    assert b["nar"].shape == (3, 3, max(frames)) and b["nar_mask"].sum(1).tolist() == frames
    assert b["ar_mask"].sum(1).tolist() == [f + 1 for f in frames]  # + VALL-E's AR EOS


@pytest.mark.parametrize("packed", [False, True])
def test_two_ranks_two_workers_cover_each_example_once(tmp_path, packed):
    _, items = idx_source(n=41, block_size=6)
    store = write_store(tmp_path / "s", IDX, items, shard_size=6)
    seen, labels, firsts = Counter(), Counter(), Counter()
    for rank in range(2):
        ds = TokenIterableDataset(
            store,
            context_length=6 if packed else None,
            batch_size=4,
            seed=7,
            rank=rank,
            world_size=2,
        )
        ds.set_epoch(3)
        for b in torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2):
            if packed:
                labels.update(b["labels"][b["labels"] != -100].tolist())
                firsts.update(b["input_ids"][:, 0].tolist())
            else:
                seen.update(b["ids"])
    if packed:  # every token is a label once, but each of the 4 slot streams' first token
        eos = ds.encoder.vocab.special("eos")
        expected = Counter(t for c in items.values() for t in c[0].tolist())
        expected[eos] = len(items)
        missing = expected - labels
        assert not (labels - expected) and sum(missing.values()) == 4
        assert not (missing - firsts)
    else:
        assert set(seen) == set(items) and all(n == 1 for n in seen.values())


def _run(loader, steps=None):
    out = []
    for i, b in enumerate(loader):
        out.append(b["input_ids"].clone())
        if steps is not None and i + 1 == steps:
            break
    return out


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch_continues_exactly(workers):
    src, _ = idx_source(n=53, block_size=7, seed=2)
    make = lambda: TokenIterableDataset(src, context_length=5, batch_size=2, seed=1)  # noqa: E731
    full_ds = make()
    full_ds.set_epoch(2)
    full = _run(StatefulLoader(full_ds, num_workers=workers))
    for stop in (1, 4):  # odd: the loader must ask the second worker next
        ds = make()
        ds.set_epoch(2)
        loader = StatefulLoader(ds, num_workers=workers)
        head = _run(loader, steps=stop)
        state = loader.state_dict()
        ds2 = make()
        loader2 = StatefulLoader(ds2, num_workers=workers)
        loader2.load_state_dict(state)
        tail = _run(loader2)
        assert len(head) + len(tail) == len(full)
        for a, b in zip(head + tail, full, strict=True):
            assert torch.equal(a, b)
    ds = make()
    ds.set_epoch(2)
    _run(StatefulLoader(ds, num_workers=workers), steps=3)
    with pytest.raises(AudiotokError, match="seed"):
        TokenIterableDataset(src, context_length=5, batch_size=2, seed=9).load_state_dict(
            ds.state_dict()
        )


def test_resume_in_process_without_a_loader():
    src, _ = idx_source(n=20, block_size=3)
    ds = TokenIterableDataset(src, batch_size=3, seed=4)
    full = [b["ids"] for b in ds]
    it = iter(ds)
    head = [next(it)["ids"] for _ in range(2)]
    ds2 = TokenIterableDataset(src, batch_size=3, seed=4)
    ds2.load_state_dict(ds.state_dict())
    assert head + [b["ids"] for b in ds2] == full
    assert [b["ids"] for b in ds2] == full  # a finished pass starts the epoch again


def test_order_follows_seed_and_epoch():
    src, _ = idx_source(n=30, block_size=4)

    def order(seed, epoch, shuffle=True):
        ds = TokenIterableDataset(src, batch_size=30, seed=seed, shuffle=shuffle)
        ds.set_epoch(epoch)
        return next(iter(ds))["ids"]

    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1) and order(0, 0) != order(1, 0)
    assert sorted(order(0, 1)) == sorted(order(1, 0))
    assert order(0, 5, shuffle=False) == [f"d{i:03d}" for i in range(30)]
