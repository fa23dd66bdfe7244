"""Exporters, each read back by its own reader: fairseq's Dictionary.load format (parsed as
fairseq does), megatron-core's IndexedDataset, nanoGPT's memmaps, datasets.load_from_disk,
webdataset; splits; the CLI's errors."""

import json
import pickle

import numpy as np
import pytest
from feed_helpers import ACU, SEM, random_items, write_store

import audiotok
from audiotok.cli.app import main
from audiotok.errors import AudiotokError
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.exporters import export
from audiotok.feed.source import as_source
from audiotok.feed.split import split_ids
from audiotok.feed.vocab import VocabSpec


def fairseq_dictionary_load(path):
    """fairseq.data.Dictionary.load, reimplemented from its source (fairseq/data/dictionary.py):
    <s>, <pad>, </s>, <unk> first, then each line "<symbol> <count> [#fairseq:overwrite]" in
    file order; a repeated symbol without the flag is an error."""
    symbols = ["<s>", "<pad>", "</s>", "<unk>"]
    indices = {s: i for i, s in enumerate(symbols)}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, field = line.rstrip().rsplit(" ", 1)
        overwrite = field == "#fairseq:overwrite"
        if overwrite:
            word, field = word.rsplit(" ", 1)
        int(field)  # a count, or fairseq raises
        if word in indices and not overwrite:
            raise RuntimeError(f"duplicate word {word}")
        indices[word] = len(symbols)
        symbols.append(word)
    return indices


def cli(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def store_codes(path):
    return {i: np.atleast_2d(c) for i, c in audiotok.open_tokens(str(path))}


def test_fairseq_through_the_cli(cli_store, tmp_path, capsys):
    out = tmp_path / "fs"
    code, stdout, err = cli(
        [
            "export",
            cli_store,
            "--to",
            "fairseq",
            "-o",
            out,
            "--dedup",
            "--val-fraction",
            "0.25",
            "--seed",
            "3",
        ],
        capsys,
    )
    assert code == 0, err
    assert "train  22 documents" in stdout and "valid  8 documents" in stdout
    index = fairseq_dictionary_load(out / "dict.txt")
    vocab = VocabSpec.load(out / "vocab.json")
    assert len(index) == 4 + vocab.vocab_size
    assert all(index[str(u)] == u + 4 for u in range(100))  # unit order: no permutation
    codes = store_codes(cli_store)
    enc = FeedEncoder.for_source(as_source(cli_store), dedup=True, eos=False, vocab=vocab)
    seen = []
    for split in ("train", "valid"):
        lines = (out / f"{split}.txt").read_text().splitlines()
        ids = (out / f"{split}.ids").read_text().splitlines()
        durs = (out / f"{split}.durations").read_text().splitlines()
        assert len(lines) == len(ids) == len(durs)
        for line, uid, dur in zip(lines, ids, durs, strict=True):
            units = np.array([index[w] - 4 for w in line.split()])
            d = np.array(dur.split(), dtype=np.int64)
            assert (enc.decode(units, d) == codes[uid]).all()
        seen += ids
    assert sorted(seen) == sorted(codes)
    counts = dict(line.split() for line in (out / "dict.txt").read_text().splitlines())
    train_units = " ".join((out / "train.txt").read_text().split("\n")).split()
    assert sum(int(c) for c in counts.values()) == len(train_units)
    rec = json.loads((out / "export.json").read_text())
    assert rec["pattern"] == "flatten" and rec["dedup"] and rec["eos"] is False

    # errors: one line, exit 2, nothing half-written
    code, _, err = cli(["export", cli_store, "--to", "fairseq", "-o", out], capsys)
    assert code == 2 and "not empty" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(
        ["export", cli_store, "--to", "fairseq", "-o", tmp_path / "x", "--pattern", "delay"], capsys
    )
    assert code == 2 and "flatten" in err and not (tmp_path / "x").exists()
    code, _, err = cli(["export", cli_store, "--to", "zip", "-o", tmp_path / "x"], capsys)
    assert code == 2 and "unknown export format" in err
    assert not list(tmp_path.glob(".x.*"))


@pytest.fixture
def megatron_indexed_dataset():
    """megatron-core's reader; importing megatron-core widens torch's ``weights_only`` safe
    globals for the whole process (argparse.Namespace among them), which would hide our own
    refusals in later tests: put them back afterwards."""
    import torch.serialization as ts

    before = list(ts.get_safe_globals())
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    yield IndexedDataset
    ts.clear_safe_globals()
    ts.add_safe_globals(before)


@pytest.mark.filterwarnings("ignore::UserWarning")  # megatron-core: no Apex / Transformer Engine
def test_megatron_read_back_by_megatron_core(cli_store, tmp_path, megatron_indexed_dataset):
    IndexedDataset = megatron_indexed_dataset  # noqa: N806 - the reader class

    ids_file = tmp_path / "val.txt"
    all_ids = as_source(cli_store).ids()
    ids_file.write_text("\n".join(all_ids[:2]) + "\n")
    s = export(cli_store, tmp_path / "mg", "megatron", val_ids=ids_file)
    assert s.dtype == "uint16" and s.splits["valid"]["documents"] == 2
    enc = FeedEncoder.for_source(as_source(cli_store))
    codes = store_codes(cli_store)
    for split, n in (("train", 28), ("valid", 2)):
        ds = IndexedDataset(str(tmp_path / "mg" / f"{split}_text_document"))
        ids = (tmp_path / "mg" / f"{split}.ids").read_text().splitlines()
        assert len(ds) == n == len(ids) and ds.index.dtype == np.uint16
        for k, uid in enumerate(ids):
            seq = ds[k]
            assert seq.tolist() == enc.encode(codes[uid]).tokens.tolist()
            assert seq[-1] == enc.vocab.special("eos")
    # a vocabulary past 65,536 ids (a text LLM's range first) -> int32
    big = VocabSpec.build([audiotok.open_tokens(str(cli_store)).spec], text_size=70_000)
    big.save(tmp_path / "big.json")
    s = export(cli_store, tmp_path / "mg32", "megatron", vocab=tmp_path / "big.json")
    ds = IndexedDataset(str(tmp_path / "mg32" / "train_text_document"))
    assert s.dtype == "int32" and ds.index.dtype == np.int32 and ds[0].min() >= 70_000


class NoGlobals(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"meta.pkl refers to {module}.{name}")


def test_nanogpt_bins_and_meta(cli_store, tmp_path):
    s = export(cli_store, tmp_path / "ng", "nanogpt", val_fraction=0.2, seed=1)
    out = tmp_path / "ng"
    meta = json.loads((out / "meta.json").read_text())
    with open(out / "meta.pkl", "rb") as f:
        pk = NoGlobals(f).load()  # plain built-ins only
    assert pk["vocab_size"] == meta["vocab_size"] == s.vocab_size == 104
    assert pk["itos"][5] == "5" and pk["stoi"]["<eos>"] == meta["eos"]
    codes = store_codes(cli_store)
    enc = FeedEncoder.for_source(as_source(cli_store))
    for name in ("train", "val"):
        data = np.memmap(out / f"{name}.bin", dtype=np.uint16, mode="r")  # as nanoGPT reads it
        ids = (out / f"{name}.ids").read_text().splitlines()
        docs = np.split(np.asarray(data), np.flatnonzero(data == meta["eos"]) + 1)[:-1]
        assert len(docs) == len(ids)
        for d, uid in zip(docs, ids, strict=True):
            assert (enc.decode(d) == codes[uid]).all()
    with pytest.raises(AudiotokError, match="uint16"):
        big = VocabSpec.build([SEM], text_size=70_000)
        export(
            write_store(tmp_path / "s", SEM, random_items(SEM, 3)),
            tmp_path / "n2",
            "nanogpt",
            vocab=big,
        )


def test_hf_datasets_with_row_patterns_and_a_join(tmp_path):
    import datasets

    rng = np.random.default_rng(0)
    sem_items, acu_items = {}, {}
    for i in range(6):
        t = int(rng.integers(0, 20))
        sem_items[f"u{i}"] = rng.integers(0, 50, (1, t))
        acu_items[f"u{i}"] = rng.integers(0, 64, (4, (t * 3) // 2))
    sem = write_store(tmp_path / "sem", SEM, sem_items)
    acu = write_store(tmp_path / "acu", ACU, acu_items)
    export(acu, tmp_path / "hf", "hf", pattern="delay", val_fraction=0.34)
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    assert set(dd) == {"train", "validation"} and len(dd["train"]) + len(dd["validation"]) == 6
    enc = FeedEncoder.for_source(as_source(acu), "delay")
    for row in dd["train"]:
        x = np.array(row["input_ids"])
        assert x.shape[0] == 4 and row["num_frames"] == acu_items[row["id"]].shape[1]
        assert (enc.decode(x) == acu_items[row["id"]]).all()

    export(acu, tmp_path / "valle", "hf", pattern="valle", layout="separate")
    row = datasets.load_from_disk(str(tmp_path / "valle"))["train"][1]
    enc = FeedEncoder.for_source(as_source(acu), "valle", layout="separate")
    back = enc.decode({"ar": np.array(row["ar"]), "nar": np.array(row["nar"]).reshape(3, -1)})
    assert (back == acu_items[row["id"]]).all()

    export([sem, acu], tmp_path / "moshi", "hf", pattern="multistream")
    vocab = VocabSpec.load(tmp_path / "moshi" / "vocab.json")
    assert [s.delay for s in vocab.streams] == [0, 1, 1, 1, 1]
    row = datasets.load_from_disk(str(tmp_path / "moshi"))["train"][2]
    assert np.array(row["input_ids"]).shape[0] == 5


def test_webdataset_shards_read_by_webdataset(tmp_path):
    import webdataset as wds

    items = random_items(SEM, 7, seed=4)
    store = write_store(tmp_path / "s", SEM, items)
    s = export(store, tmp_path / "wd", "webdataset", dedup=True, shard_size=3)
    assert s.splits["train"]["shards"] == [
        "train-000000.tar",
        "train-000001.tar",
        "train-000002.tar",
    ]
    urls = [str(tmp_path / "wd" / n) for n in s.splits["train"]["shards"]]
    enc = FeedEncoder.for_source(as_source(store), dedup=True)
    got = []
    for sample in wds.WebDataset(urls, shardshuffle=False).decode():
        meta = sample["json"]
        tokens, durations = sample["tokens.npy"], sample["durations.npy"]
        assert tokens.dtype == np.uint16
        assert (enc.decode(tokens, durations) == items[meta["id"]]).all()
        got.append(meta["id"])
    assert got == list(items)


def test_splits():
    ids = [f"u{i}" for i in range(100)]
    tr, va = split_ids(ids, val_fraction=0.1, seed=0)
    assert len(va) == 10 and set(tr) | set(va) == set(ids) and not set(tr) & set(va)
    assert split_ids(ids[:50] + ["new"] + ids[50:], val_fraction=0.1, seed=0)[1] != []
    assert split_ids(ids, val_fraction=0.1, seed=1)[1] != va
    tr2, va2 = split_ids(ids, val_ids=["u3", "u7"])
    assert va2 == ["u3", "u7"] and len(tr2) == 98
    with pytest.raises(AudiotokError, match="not in the tokens"):
        split_ids(ids, val_ids=["nope"])
    with pytest.raises(AudiotokError, match="not both"):
        split_ids(ids, val_ids=["u1"], val_fraction=0.1)
    with pytest.raises(AudiotokError, match="fraction"):
        split_ids(ids, val_fraction=1.5)
