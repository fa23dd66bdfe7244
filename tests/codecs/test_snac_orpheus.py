"""Orpheus TTS's ids from a SNAC store: a tiny random-weights SNAC 24 kHz store (``audiotok
encode``) -> pattern ``orpheus`` (one id range per position of each group of 7) -> the exact
store codes back; the same ids through ``export --to megatron`` and the packed iterable
dataset; a store of another shape refused in one line."""

from __future__ import annotations

import json

import numpy as np
from test_snac_store import _cli, release, snac_store  # noqa: F401 (fixtures)

import audiotok
from audiotok.feed.encoder import FeedEncoder
from audiotok.feed.source import as_source
from audiotok.feed.vocab import VocabSpec
from audiotok.spec import TokenSpec

ORPHEUS_OFFSET = 128266  # Orpheus TTS's first audio id (Llama 3's 128,256 + 10 specials)
SIZE = 64  # the tiny release's codebook size (4096 in the released SNAC)


def _by_formula(parts, offset):
    """Orpheus's tokenise_audio: for group i, codes c0[i], c1[2i], c2[4i], c2[4i+1],
    c1[2i+1], c2[4i+2], c2[4i+3], position p plus offset + p * size."""
    c0, c1, c2 = parts
    out = []
    for i in range(len(c0)):
        group = [c0[i], c1[2 * i], c2[4 * i], c2[4 * i + 1], c1[2 * i + 1], c2[4 * i + 2],
                 c2[4 * i + 3]]  # fmt: skip
        out += [offset + p * SIZE + int(c) for p, c in enumerate(group)]
    return out


def test_store_to_orpheus_ids_and_back(snac_store):  # noqa: F811
    tok, _ = snac_store
    store = audiotok.open_tokens(str(tok))
    src = as_source(str(tok))
    enc = FeedEncoder.for_source(src, "orpheus", offset=1000, eos=False)
    for utt in src.ids():
        codes = src.get(utt)
        ids = enc.encode(codes).tokens
        assert ids.tolist() == _by_formula(store.get_codebooks(utt), 1000)
        assert len(ids) == enc.length(codes.shape[1]) == codes.shape[1] // 4 * 7
        back = enc.decode(ids)
        np.testing.assert_array_equal(back, codes)
        np.testing.assert_array_equal(back, store.get(utt))


def test_orpheus_ids_through_megatron_export(snac_store, tmp_path, capsys):  # noqa: F811
    tok, _ = snac_store
    store = audiotok.open_tokens(str(tok))
    out = tmp_path / "mg"
    rc, stdout, err = _cli(["export", tok, "--to", "megatron", "--pattern", "orpheus",
                            "--vocab-offset", ORPHEUS_OFFSET, "-o", out], capsys)  # fmt: skip
    assert rc == 0, err
    vocab = VocabSpec.load(out / "vocab.json")
    assert vocab.streams[0].offset == ORPHEUS_OFFSET and len(vocab.streams) == 7
    assert json.loads((out / "export.json").read_text())["pattern"] == "orpheus"
    assert vocab.dtype == "int32" and "int32" in stdout
    ids = (out / "train.ids").read_text().split()
    tokens = np.fromfile(out / "train_text_document.bin", dtype=np.int32)
    enc = FeedEncoder.for_source(as_source(str(tok)), "orpheus", vocab=vocab)  # eos on
    at = 0
    for utt in ids:
        n = enc.length(store.get(utt).shape[1])
        doc = tokens[at : at + n]
        assert doc[:-1].tolist() == _by_formula(store.get_codebooks(utt), ORPHEUS_OFFSET)
        np.testing.assert_array_equal(enc.decode(doc), store.get(utt))  # from vocab.json
        at += n
    assert at == len(tokens)
    args = ["--vocab-spec", out / "vocab.json", "--vocab-offset", 5, "-o", tmp_path / "x"]
    rc, _, err = _cli(["export", tok, "--to", "megatron", "--pattern", "orpheus", *args], capsys)
    assert rc == 2 and "offset" in err and len(err.strip().splitlines()) == 1


def test_packed_iterable_dataset_gives_orpheus_ids(snac_store):  # noqa: F811
    from audiotok.feed.iterable import TokenIterableDataset

    tok, _ = snac_store
    src = as_source(str(tok))
    ds = TokenIterableDataset(str(tok), pattern="orpheus", offset=ORPHEUS_OFFSET,
                              context_length=16, batch_size=2, shuffle=False)  # fmt: skip
    stream = np.concatenate([ds.encoder.encode(src.get(u)).tokens for u in src.ids()])
    assert stream.min() >= ORPHEUS_OFFSET
    got: list[int] = []
    for batch in ds:
        for row, lab in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
            got.extend(([] if got else [row[0]]) + [t for t in lab if t != -100])
    assert got == stream.tolist()


def test_a_store_of_another_shape_is_refused_in_one_line(tmp_path, capsys):
    from audiotok.store import TokenWriter

    spec = TokenSpec("acoustic", "snac-32khz", 32000, 83.25, 4, 4096,
                     codebook_frame_rates=(83.25 / 8, 83.25 / 4, 83.25 / 2, 83.25))  # fmt: skip
    w = TokenWriter(tmp_path / "s32", spec)
    g = np.random.default_rng(0)
    w.add("a", "a.wav", 16 / 83.25, np.stack([np.repeat(g.integers(0, 4096, 16 // s), s)
                                                for s in (8, 4, 2, 1)]))  # fmt: skip
    w.close()
    rc, _, err = _cli(["export", tmp_path / "s32", "--to", "megatron", "--pattern", "orpheus",
                       "-o", tmp_path / "mg"], capsys)  # fmt: skip
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "snac-32khz" in err and "[8, 4, 2, 1]" in err and "coarse_to_fine" in err
