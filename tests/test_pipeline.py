"""The semantic pipeline end to end through the CLI: extract -> kmeans train -> encode."""

import numpy as np
import pytest
import torch

import audiotok
from audiotok.cli.app import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture
def tiny_hubert(tmp_path):
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    cfg = HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    HubertModel(cfg).save_pretrained(tmp_path / "tiny-hubert")
    return tmp_path / "tiny-hubert"


def test_extract_train_encode(tiny_hubert, small_corpus, tmp_path, capsys):
    feats, km = tmp_path / "feats", tmp_path / "km8.safetensors"
    code, _, err = run(
        [
            "extract",
            small_corpus,
            "-o",
            feats,
            "--model",
            tiny_hubert,
            "--layer",
            "1,2",
            "-q",
            "--num-workers",
            "0",
        ],
        capsys,
    )
    assert code == 0, err
    code, _, err = run(["kmeans", "train", feats, "-k", "8", "--layer", "2", "-o", km], capsys)
    assert code == 0, err
    cb = audiotok.kmeans.load(km)
    assert cb.meta["layer"] == 2 and cb.k == 8
    code, out, err = run(
        [
            "encode",
            small_corpus,
            "-o",
            tmp_path / "a",
            "--model",
            tiny_hubert,
            "--layer",
            "2",
            "--codebook",
            km,
            "-q",
            "--num-workers",
            "0",
        ],
        capsys,
    )
    assert code == 0, err
    # the codebook records its extractor's recipe (the model folder and every option): it
    # alone rebuilds the tokenizer, to the same units
    code, out, err = run(
        ["encode", small_corpus, "-o", tmp_path / "x", "--codebook", km, "-q"], capsys
    )
    assert code == 0, err
    x = audiotok.open_tokens(str(tmp_path / "x"))
    assert x.recipe.name == str(tiny_hubert.resolve()) and x.recipe.options["layers"] == [2]
    # once the folder is gone, the codebook says to give the model by path
    moved = tiny_hubert.with_name(tiny_hubert.name + "-moved")
    tiny_hubert.rename(moved)
    try:
        code, out, err = run(
            ["encode", small_corpus, "-o", tmp_path / "y", "--codebook", km, "-q"], capsys
        )
    finally:
        moved.rename(tiny_hubert)
    assert code == 2 and "not a registered model" in err and "--model PATH" in err
    code, out, err = run(
        [
            "encode",
            small_corpus,
            "-o",
            tmp_path / "b",
            "--codebook",
            km,
            "-q",
            "--model",
            tiny_hubert,
            "--num-workers",
            "2",
        ],
        capsys,
    )
    assert code == 0, err
    a, b = audiotok.open_tokens(str(tmp_path / "a")), audiotok.open_tokens(str(tmp_path / "b"))
    assert a.spec == b.spec and a.spec.layer == 2 and a.spec.frame_rate == 50.0
    da, db = dict(a), dict(b)
    assert da.keys() == db.keys() == dict(x).keys() and len(da) == 6
    for uid, codes in x:
        np.testing.assert_array_equal(codes, da[uid])
    tok = audiotok.load(str(tiny_hubert), codebook=str(km), layer=2)
    for uid in da:
        np.testing.assert_array_equal(da[uid], db[uid])
    # the store's units are the codebook's nearest centroids of the extracted features
    store = audiotok.extractors.features_store.open_features(feats)
    for uid, f in store.iter(2):
        units = tok.codebook.assign(torch.from_numpy(np.asarray(f, dtype=np.float32)))
        agree = (units.numpy() == da[uid]).mean()
        assert agree > 0.97  # features were stored as float16: near-ties may flip
    # a codebook of layer 2 applied to layer 1 is refused, naming both
    code, _, err = run(
        [
            "encode",
            small_corpus,
            "-o",
            tmp_path / "c",
            "--model",
            tiny_hubert,
            "--layer",
            "1",
            "--codebook",
            km,
            "-q",
        ],
        capsys,
    )
    assert code == 2 and "layer 2" in err and "layer 1" in err
