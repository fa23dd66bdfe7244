"""Single codebooks of 65,536 entries (XCodec2's FSQ): codes 0..65,535 fill uint16 exactly.

A synthetic store whose codes reach 65,535 goes through the store, the vocabulary (with
specials the ids pass 65,535: int32), every exporter (each read back) and `eval codebooks`.
"""

from __future__ import annotations

import io
import json
import struct
import tarfile

import numpy as np
import pytest
from feed_helpers import write_store

import audiotok
from audiotok.cli.app import main
from audiotok.errors import AudiotokError
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.exporters import export
from audiotok.feed.source import as_source
from audiotok.feed.vocab import VocabSpec
from audiotok.spec import TokenSpec

BIG = TokenSpec("acoustic", "xcodec2", 16000, 50.0, 1, 65536)
TOP = 65535


def _items() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    items = {f"u{i}": rng.integers(0, 65536, size=(1, 10 + i)) for i in range(5)}
    items["u0"][0, :3] = [0, TOP, TOP - 1]  # both ends of the codebook
    items["u1"][0, -1] = TOP
    return items


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    items = _items()
    return write_store(tmp_path_factory.mktemp("big") / "tokens", BIG, items), items


def test_store_keeps_codes_up_to_65535_as_uint16(big_store):
    path, items = big_store
    store = audiotok.open_tokens(str(path))
    assert store.spec.codebook_size == 65536
    got = {uid: np.atleast_2d(c) for uid, c in store}
    for uid, codes in items.items():
        assert got[uid].dtype == np.uint16
        assert np.array_equal(got[uid], codes)
    assert int(got["u0"].max()) == TOP


def test_vocabulary_past_uint16_with_specials():
    v = VocabSpec.build([BIG])
    assert v.vocab_size == 65536 + 4 and v.dtype == "int32"
    assert v.special("pad") == 65536 and v.special("empty") == 65539
    ids = v.to_ids(np.array([[0, TOP]]), [0])
    assert ids.tolist() == [[0, TOP]]
    assert v.from_ids(ids, [0]).tolist() == [[0, TOP]]
    with pytest.raises(AudiotokError, match="outside 0..65535"):
        v.to_ids(np.array([[65536]]), [0])
    # no specials: 65,536 ids exactly, uint16
    bare = VocabSpec.build([BIG], specials=())
    assert bare.vocab_size == 65536 and bare.dtype == "uint16"
    assert np.asarray(bare.to_ids(np.array([[TOP]]), [0])).astype(bare.np_dtype)[0, 0] == TOP
    # two sources in one shared table: the second one's offsets start at 65,536
    small = TokenSpec("semantic", "hubert-km500", 16000, 50.0, 1, 500)
    both = VocabSpec.build([BIG, small])
    assert both.streams[1].offset == 65536 and both.dtype == "int32"
    assert both.to_ids(np.array([[499]]), [1]).tolist() == [[65536 + 499]]
    # separate tables: the specials follow the largest table
    sep = VocabSpec.build([BIG, small], layout="separate")
    assert sep.special("pad") == 65536 and sep.dtype == "int32"


def test_megatron_writes_int32_and_its_header_says_so(big_store, tmp_path):
    path, items = big_store
    s = export(path, tmp_path / "mg", "megatron")
    assert s.dtype == "int32"
    prefix = tmp_path / "mg" / "train_text_document"
    idx = (prefix.with_suffix(".idx")).read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00" and struct.unpack("<B", idx[17:18])[0] == 4  # int32
    data = np.fromfile(prefix.with_suffix(".bin"), dtype=np.int32)
    enc = FeedEncoder.for_source(as_source(path))
    ids = (tmp_path / "mg" / "train.ids").read_text().splitlines()
    want = np.concatenate([enc.encode(items[u]).tokens for u in ids])
    assert np.array_equal(data, want) and TOP in data and enc.vocab.special("eos") in data


def test_nanogpt_refuses_ids_past_uint16(big_store, tmp_path):
    path, _ = big_store
    with pytest.raises(AudiotokError, match="nanoGPT reads uint16 tokens only") as e:
        export(path, tmp_path / "ng", "nanogpt")
    assert "\n" not in str(e.value) and "65540" in str(e.value)
    # without specials the ids fit, but nanoGPT's files need an EOS between documents
    bare = VocabSpec.build([BIG], specials=())
    with pytest.raises(AudiotokError, match="no special token 'eos'") as e:
        export(path, tmp_path / "ng2", "nanogpt", vocab=bare)
    assert "\n" not in str(e.value)


def test_fairseq_hf_and_webdataset_keep_65535(big_store, tmp_path):
    import datasets

    path, items = big_store
    export(path, tmp_path / "fs", "fairseq")
    lines = (tmp_path / "fs" / "train.txt").read_text().splitlines()
    ids = (tmp_path / "fs" / "train.ids").read_text().splitlines()
    for line, uid in zip(lines, ids, strict=True):
        assert [int(t) for t in line.split()] == items[uid][0].tolist()
    assert len((tmp_path / "fs" / "dict.txt").read_text().splitlines()) == 65540

    export(path, tmp_path / "hf", "hf")
    ds = datasets.load_from_disk(str(tmp_path / "hf"))["train"]
    assert str(ds.features["input_ids"].feature.dtype) == "int32"
    row = next(r for r in ds if r["id"] == "u0")
    assert row["input_ids"][:3] == [0, TOP, TOP - 1]

    export(path, tmp_path / "wd", "webdataset")
    with tarfile.open(tmp_path / "wd" / "train-000000.tar") as tar:
        names = tar.getnames()
        key = next(
            n[:-5]
            for n in names
            if n.endswith(".json") and json.load(tar.extractfile(n))["id"] == "u0"  # type: ignore[arg-type]
        )
        member = tar.extractfile(f"{key}.tokens.npy")
        assert member is not None
        tokens = np.load(io.BytesIO(member.read()), allow_pickle=False)
    assert tokens.dtype == np.int32 and tokens[:3].tolist() == [0, TOP, TOP - 1]


def test_eval_codebooks_on_a_65536_entry_codebook(big_store, tmp_path, capsys):
    path, items = big_store
    align = tmp_path / "align"
    align.mkdir()
    for uid, codes in items.items():  # two phones per utterance
        half = codes.shape[1] / 50 / 2
        (align / f"{uid}.tsv").write_text(f"0\t{half}\tAA\n{half}\t{2 * half}\tB\n")
    with pytest.raises(SystemExit) as e:
        main(["eval", "codebooks", str(path), "--align", str(align), "--json"])
    out = capsys.readouterr()
    assert e.value.code == 0, out.err
    result = json.loads(out.out)
    assert result["codebook_size"] == 65536
    frames = sum(c.shape[1] for c in items.values())
    assert result["codebooks"][0]["used"] == len(np.unique(np.concatenate(list(items.values()), 1)))
    assert result["frames"] == frames


@pytest.mark.parametrize("pattern", ["delay", "parallel"])
def test_row_layouts_of_two_65536_entry_codebooks_reach_ids_past_uint16(pattern):
    """Codes are uint16 in the store; the second codebook's ids start at 65,536: a batch
    built in place must add the offsets in a wide enough type (uint16 arithmetic once wrapped
    or raised OverflowError here)."""
    from audiotok.feed.collate import pad_collate
    from audiotok.feed.dataset import example_dict
    from audiotok.feed.iterable import TokenIterableDataset
    from audiotok.feed.source import InMemorySource

    two = TokenSpec("acoustic", "fsq-2x65536", 16000, 50.0, 2, 65536)
    rng = np.random.default_rng(1)
    items = {f"u{i}": rng.integers(0, 65536, (2, 5 + i)).astype(np.uint16) for i in range(4)}
    items["u0"][:, 0] = TOP
    source = InMemorySource(two, items, block_size=4)
    ds = TokenIterableDataset(source, pattern=pattern, batch_size=4, shuffle=False)
    (batch,) = list(ds)
    enc = ds.encoder
    want = pad_collate([example_dict(u, enc.encode(c)) for u, c in items.items()], enc.pad_id)
    assert batch["input_ids"].tolist() == want["input_ids"].tolist()
    assert bool((batch["input_ids"] == 65536 + TOP).any())  # the second codebook's top id
