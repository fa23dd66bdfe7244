"""A SNAC store end to end: ``audiotok encode`` (a tiny SNAC release folder the test writes)
-> a multi-rate store (each codebook at its own rate in Parquet and the flat copy) -> the
coarse_to_fine feed and its exact inverse -> ``audiotok decode``, and ``export --to
megatron``; patterns that cannot lay out several rates refuse with one line; a damaged
multi-rate row is one line."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch

import audiotok
from audiotok import registry
from audiotok.errors import AudiotokError, CorruptStoreError
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.source import as_source
from audiotok.feed.vocab import VocabError

TINY = dict(
    sampling_rate=24000, encoder_dim=8, encoder_rates=[2, 4], decoder_dim=32,
    decoder_rates=[4, 2], attn_window_size=None, codebook_size=64, codebook_dim=4,
    vq_strides=[4, 2, 1], noise=True, depthwise=True,
)  # fmt: skip
SECONDS = (0.013, 0.02, 0.0071)  # 312, 480, 170 samples: hop 8, padded to multiples of 32


def _cli(args, capsys):
    from audiotok.cli.app import main

    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("snac_release")
    codec = registry.get("snac-24khz").build(pretrained=False, config=TINY, seed=5)
    (folder / "config.json").write_text(json.dumps(TINY))
    torch.save(codec.model.state_dict(), folder / "pytorch_model.bin")
    return folder


@pytest.fixture
def snac_store(release, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    g = np.random.default_rng(0)
    for i, s in enumerate(SECONDS):
        sf.write(corpus / f"u{i}.wav", 0.1 * g.standard_normal(round(s * 24000)), 24000)
    tok = tmp_path / "tok"
    args = ["encode", corpus, "-o", tok, "--kind", "acoustic", "--model", "snac-24khz"]
    rc, _, err = _cli([*args, "--weights", release, "--num-workers", "0", "-q"], capsys)
    assert rc == 0, err
    return tok, corpus


def test_snac_store_keeps_each_codebook_at_its_rate(snac_store, release):
    tok, corpus = snac_store
    store = audiotok.open_tokens(str(tok))
    assert store.spec.multirate and store.spec.strides == (4, 2, 1)
    codec = audiotok.load("snac-24khz", weights=str(release))
    table = pq.read_table(next(tok.glob("shard-*.parquet")))
    for row in table.to_pylist():
        x, _ = sf.read(corpus / f"{row['id']}.wav", dtype="float32")
        want = codec.encode(x, 24000).numpy()
        t = want.shape[1]
        assert row["num_frames"] == t and t % 4 == 0
        assert [len(c) for c in row["codes"]] == [t // 4, t // 2, t]  # ragged in Parquet
        np.testing.assert_array_equal(store.get(row["id"]), want)  # the [K, T'] layout
        parts = store.get_codebooks(row["id"])
        for k, s in enumerate((4, 2, 1)):
            np.testing.assert_array_equal(parts[k], want[k, ::s])
            np.testing.assert_array_equal(row["codes"][k], want[k, ::s])
    assert sum(1 for _ in store) == len(SECONDS)


def test_coarse_to_fine_is_orpheus_order_and_inverts(snac_store):
    tok, _ = snac_store
    src = as_source(str(tok))
    enc = FeedEncoder.for_source(src, "coarse_to_fine", eos=False)
    off = [s.offset for s in enc.vocab.streams]
    for utt in src.ids():
        codes = src.get(utt)
        toks = enc.encode(codes).tokens
        assert len(toks) == codes.shape[1] // 4 * 7 == enc.length(codes.shape[1])
        c0, c1, c2 = (codes[k, ::s] for k, s in enumerate((4, 2, 1)))
        for i in range(codes.shape[1] // 4):
            want = [c0[i] + off[0], c1[2 * i] + off[1], c2[4 * i] + off[2],
                    c2[4 * i + 1] + off[2], c1[2 * i + 1] + off[1], c2[4 * i + 2] + off[2],
                    c2[4 * i + 3] + off[2]]  # fmt: skip
            assert toks[7 * i : 7 * i + 7].tolist() == want
        np.testing.assert_array_equal(enc.decode(toks), codes)


@pytest.mark.parametrize("pattern", ["flatten", "delay", "parallel", "valle"])
def test_single_rate_patterns_refuse_a_multirate_store(snac_store, pattern):
    with pytest.raises(VocabError, match="different rates") as e:
        FeedEncoder.for_source(as_source(str(snac_store[0])), pattern)
    assert "\n" not in str(e.value) and "coarse_to_fine" in str(e.value)


def test_snac_store_decodes_and_exports(snac_store, tmp_path, capsys):
    tok, _ = snac_store
    store = audiotok.open_tokens(str(tok))
    rc, _, err = _cli(["decode", tok, "-o", tmp_path / "wavs"], capsys)
    assert rc == 0, err
    codec = audiotok.load("snac-24khz", weights=store.recipe.options["weights"])
    for i, s in enumerate(SECONDS):
        y, sr = sf.read(tmp_path / "wavs" / f"u{i}.wav", dtype="float32")
        assert sr == 24000 and len(y) == round(s * 24000)
        alone = codec.decode(store.get(f"u{i}")).numpy()[: len(y)]
        np.testing.assert_allclose(y, alone, atol=2 / 32768, rtol=0)  # 16-bit file
    # the feed's tokens decode back to the same codes, hence the same audio
    enc = FeedEncoder.for_source(as_source(str(tok)), "coarse_to_fine")
    back = enc.decode(enc.encode(store.get("u1")).tokens)
    torch.testing.assert_close(codec.decode(back), codec.decode(store.get("u1")))
    rc, _, err = _cli(["export", tok, "--to", "megatron", "--pattern", "coarse_to_fine",
                       "-o", tmp_path / "mg"], capsys)  # fmt: skip
    assert rc == 0, err
    ids = (tmp_path / "mg" / "train.ids").read_text().split()
    bin_ = np.fromfile(tmp_path / "mg" / "train_text_document.bin", dtype=np.uint16)
    want = np.concatenate([enc.encode(store.get(u)).tokens for u in ids])
    np.testing.assert_array_equal(bin_, want)
    rc, _, err = _cli(["export", tok, "--to", "megatron", "-o", tmp_path / "mg2"], capsys)
    assert rc == 2 and "coarse_to_fine" in err and len(err.strip().splitlines()) == 1


def test_damaged_multirate_row_is_one_line(snac_store):
    from audiotok.store.shards import shard_codes

    tok, _ = snac_store
    path = next(tok.glob("shard-*.parquet"))
    table = pq.read_table(path)
    codes = table.column("codes").to_pylist()
    codes[1][1] = codes[1][1][:-1]  # codebook 1 of row 1 one code short
    typ = table.schema.field("codes").type
    bad = table.set_column(table.schema.get_field_index("codes"), "codes", pa.array(codes, typ))
    pq.write_table(bad, tmp := tok / "damaged.parquet")
    with pytest.raises(CorruptStoreError) as e:
        shard_codes(tmp, 3, strides=(4, 2, 1))
    ids = table.column("id").to_pylist()
    assert "\n" not in str(e.value) and repr(ids[1]) in str(e.value) and "strides" in str(e.value)
    from audiotok.store.shards import flat_codes

    frames = table.column("num_frames").to_pylist()
    frames[0] += 1  # not a whole number of coarse frames
    nf = table.set_column(table.schema.get_field_index("num_frames"), "num_frames",
                          pa.array(frames, pa.int32()))  # fmt: skip
    pq.write_table(nf, tmp2 := tok / "damaged2.parquet")
    flat = next((tok / ".codes").glob("*.npy"))
    with pytest.raises(CorruptStoreError) as e:
        flat_codes(tmp2, flat, 3, strides=(4, 2, 1))
    assert "\n" not in str(e.value) and repr(ids[0]) in str(e.value)


def test_join_refuses_multirate(snac_store, tmp_path):
    from audiotok.feed.align import JoinedSource

    with pytest.raises(AudiotokError, match="several frame rates"):
        JoinedSource([as_source(str(snac_store[0])), as_source(str(snac_store[0]))])


def test_packed_iterable_dataset_reads_a_snac_store(snac_store):
    from audiotok.feed.iterable import TokenIterableDataset

    tok, _ = snac_store
    src = as_source(str(tok))
    ds = TokenIterableDataset(
        str(tok), pattern="coarse_to_fine", context_length=16, batch_size=2, shuffle=False
    )
    stream = np.concatenate([ds.encoder.encode(src.get(u)).tokens for u in src.ids()])
    got: list[int] = []
    for batch in ds:  # context j: input_ids = stream[jL : jL + L], labels one step on
        for row, lab in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
            got.extend(([] if got else [row[0]]) + [t for t in lab if t != -100])
    assert got == stream.tolist()
