"""Recipes: every store can rebuild the tokenizer that made it; options are exact."""

import numpy as np
import pytest
import torch

import audiotok
from audiotok.errors import AudiotokError, SpecMismatchError
from audiotok.factory import build
from audiotok.recipe import TokenizerConfig, recipe_from_dict


def _hf_folder(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "extractors"))
    from audiotok.extractors import hf_models
    from audiotok.kmeans.codebook import Codebook

    from s3m_tiny import tiny

    src = tiny("hubert-group")
    hf_models.random_model(src.model.config).save_pretrained(tmp_path / "hf")
    Codebook(torch.randn(20, src.dim), {"extractor": "hf", "layer": 1}).save(tmp_path / "km.st")
    return tmp_path / "hf", tmp_path / "km.st"


def test_the_shipped_tokenizer_round_trips_through_its_recipe():
    tok = audiotok.load("mfcc-km100")
    r = recipe_from_dict(tok.recipe.to_dict())
    assert r == tok.recipe and r.options["codebook"] == "builtin:mfcc-km100"
    assert build(r).spec == tok.spec


def test_a_model_folder_store_rebuilds_its_tokenizer(tmp_path, small_corpus):
    from audiotok.cli.app import main

    folder, km = _hf_folder(tmp_path)
    args = ["encode", str(small_corpus), "--model", str(folder), "--codebook", str(km)]
    args += ["-o", str(tmp_path / "t"), "--num-workers", "0", "-q"]
    with pytest.raises(SystemExit) as e:
        main([*args, "--layer", "1"])
    assert e.value.code == 0
    tok = audiotok.load_for_store(str(tmp_path / "t"), device="cpu")
    store = audiotok.open_tokens(str(tmp_path / "t"))
    assert tok.spec == store.spec and tok.recipe.diff(store.recipe) == []
    uid = store.ids()[0]
    import soundfile as sf

    data, sr = sf.read(store.audio_path(uid), dtype="float32")
    np.testing.assert_array_equal(store.get(uid)[0], tok.encode(data, sr).numpy())
    with pytest.raises(SystemExit) as e:  # the same store with another layer: refused
        main([*args, "--layer", "2"])
    assert e.value.code == 2


def test_a_differing_option_is_named():
    a = TokenizerConfig("x", {"layers": [6], "dtype": "float32", "weights": "/a"})
    b = TokenizerConfig("x", {"layers": [6], "dtype": "bfloat16", "weights": "/b"})
    assert a.diff(b) == ["dtype: 'float32' != 'bfloat16'"]  # file places are not identity


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("mfcc-km100", {"layer": 6}, "mfcc features take no options"),
        ("encodec-24khz", {"colour": "red", "pretrained": False}, "does not take the option"),
    ],
)
def test_builders_refuse_options_they_do_not_take(name, options, match):
    with pytest.raises(AudiotokError, match=match):
        audiotok.load(name, **options)


def test_a_file_of_a_model_folder_is_not_a_model(tmp_path):
    folder, _ = _hf_folder(tmp_path)
    with pytest.raises(AudiotokError, match="one file of a Hugging Face model folder"):
        audiotok.load(str(folder / "config.json"))


def test_a_codebook_with_other_contents_than_the_recipe_says_is_refused(tmp_path):
    folder, km = _hf_folder(tmp_path)
    tok = audiotok.load(str(folder), codebook=str(km), layer=1)
    from audiotok.kmeans.codebook import Codebook

    Codebook(torch.randn(20, tok.extractor.dim), {"extractor": "hf", "layer": 1}).save(km)
    with pytest.raises(SpecMismatchError, match="codebook"):
        build(tok.recipe)


def test_the_factory_builds_each_kind_of_recipe():
    from audiotok import extractors
    from audiotok.recipe import ExtractorConfig

    ex = build(recipe_from_dict(ExtractorConfig("mfcc", {}).to_dict()))
    assert ex.dim == extractors.load("mfcc").dim
    with pytest.raises(AudiotokError, match="not a recipe"):
        build({"name": "mfcc"})  # a dict read from a file is not a recipe until parsed
