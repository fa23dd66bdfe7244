"""Issue 9's k-means defects: codebook identity by sha256, the extractor's weights checked,
codebooks that do not name their extractor, and ``kmeans eval`` not hiding feature errors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from audiotok.cli.app import main
from audiotok.errors import AudiotokError, SpecMismatchError
from audiotok.kmeans import Codebook, load
from audiotok.kmeans.features import STORE_RECORDS
from audiotok.kmeans.sampling import budget
from audiotok.kmeans.sources import AudioSource, FeatureSource, is_feature_path, open_source
from audiotok.semantic import SemanticTokenizer, build, builtin_codebook_path

SHA_A, SHA_B = "a" * 64, "b" * 64


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def mfcc_codebook(path, seed):
    c = torch.from_numpy(np.random.default_rng(seed).standard_normal((100, 39)).astype("float32"))
    Codebook(c, {"extractor": "mfcc", "layer": None}).save(path)
    return path


def test_codebooks_of_one_extractor_and_k_get_distinct_names(tmp_path):
    a = build(extractor="mfcc", codebook=str(mfcc_codebook(tmp_path / "a.safetensors", 0)))
    b = build(extractor="mfcc", codebook=str(mfcc_codebook(tmp_path / "b.safetensors", 1)))
    assert a.spec.name == f"mfcc-km100-{a.codebook.sha256[:8]}"
    assert a.spec.name != b.spec.name
    with pytest.raises(SpecMismatchError) as e:
        a.spec.check_same(b.spec)
    assert a.spec.name in str(e.value) and b.spec.name in str(e.value)
    # the shipped codebook keeps its published name, however it is reached
    shipped = build(extractor="mfcc", codebook=str(builtin_codebook_path("mfcc-km100")))
    assert shipped.spec.name == "mfcc-km100"
    # a codebook that was never saved is named by its centroids
    mem = Codebook(torch.ones(3, 4), {})
    assert mem.default_name("x", 6) == f"x-L6-km3-{mem.identity[:8]}"
    assert Codebook(torch.ones(3, 4) * 2, {}).identity != mem.identity


def test_codebook_checks_the_extractor_weights_sha256():
    cb = Codebook(torch.zeros(2, 3), {"extractor": "hubert-base-ls960", "layer": 6})
    cb.meta["extractor_sha256"] = SHA_A
    cb.check_features("hubert-base-ls960", 6, SHA_A)
    cb.check_features("hubert-base-ls960", 6)  # the caller does not know its weights
    with pytest.raises(SpecMismatchError) as e:
        cb.check_features("hubert-base-ls960", 6, SHA_B)
    assert SHA_A in str(e.value) and SHA_B in str(e.value)
    # the semantic tokenizer passes its extractor's digest
    ex = SimpleNamespace(name="hubert-base-ls960", layer=6, weights_sha256=SHA_B, dim=3)
    with pytest.raises(SpecMismatchError, match=SHA_B):
        SemanticTokenizer(ex, cb)  # type: ignore[arg-type]


def test_a_codebook_without_its_extractor_says_how_to_give_it(tmp_path, capsys):
    np.save(tmp_path / "c.npy", np.zeros((4, 39), np.float32))
    out = tmp_path / "km.safetensors"
    code, _, err = run(["kmeans", "import", str(tmp_path / "c.npy"), "-o", str(out)], capsys)
    assert code == 0 and "does not name the extractor" in err and "--extractor" in err
    cb = load(out)
    assert cb.extractor is None
    with pytest.raises(AudiotokError) as e:
        cb.require_extractor(out.name)
    msg = str(e.value)
    assert "'None'" not in msg and "does not name the extractor" in msg and "--model" in msg
    import audiotok  # loading it as a tokenizer says the same, not "features of 'None'"

    with pytest.raises(AudiotokError) as e:
        audiotok.load(str(out))
    assert "'None'" not in str(e.value) and "does not name the extractor" in str(e.value)


def test_kmeans_eval_shows_a_broken_feature_dump_error(tmp_path, capsys):
    """Before: the .len/.npy mismatch was swallowed and the folder retried as audio."""
    feats = tmp_path / "feats"
    feats.mkdir()
    np.save(feats / "train_0_1.npy", np.zeros((30, 39), np.float32))
    (feats / "train_0_1.len").write_text("10\n10\n")  # 20 frames listed, 30 stored
    km = mfcc_codebook(tmp_path / "km.safetensors", 0)
    code, _, err = run(["kmeans", "eval", str(km), str(feats)], capsys)
    assert code == 2 and "lists 20 frames" in err and "different runs" in err


def test_kmeans_eval_shows_a_damaged_store_error(tmp_path, capsys):
    feats = tmp_path / "feats"
    feats.mkdir()
    (feats / STORE_RECORDS[0]).write_text("{not json")  # the store's commit record, damaged
    km = mfcc_codebook(tmp_path / "km.safetensors", 0)
    code, _, err = run(["kmeans", "eval", str(km), str(feats)], capsys)
    assert code == 2 and STORE_RECORDS[0] in err and "audio" not in err.lower()


def test_open_source_rule(tmp_path, small_corpus):
    np.save(tmp_path / "x.npy", np.zeros((5, 3), np.float32))
    assert is_feature_path(tmp_path / "x.npy") and is_feature_path(tmp_path)
    assert not is_feature_path(small_corpus) and not is_feature_path(tmp_path / "nope")
    src = open_source([tmp_path / "x.npy"], extractor="mfcc")
    assert isinstance(src, FeatureSource) and src.info.dim == 3
    cb = Codebook(torch.zeros(2, 39), {"extractor": "mfcc", "layer": None})
    audio = open_source([small_corpus], codebook=cb, device="cpu")
    assert isinstance(audio, AudioSource) and audio.info.extractor == "mfcc"
    with pytest.raises(AudiotokError, match="does not name the extractor"):
        open_source([small_corpus], codebook=Codebook(torch.zeros(2, 39), {}))
    with pytest.raises(AudiotokError, match="not a feature directory"):
        open_source([small_corpus])  # training without --model
    with pytest.raises(AudiotokError, match="does not exist"):
        open_source([tmp_path / "missing"])


def test_budget():
    assert budget(1.0, 768) == int(1e9 // (4 * 768 + 8))
    assert budget(1.0, 768, max_hours=0.01, frame_rate=50) == 1800
    with pytest.raises(AudiotokError, match="--frame-rate"):
        budget(1.0, 768, max_hours=1.0)
    with pytest.raises(AudiotokError, match="--max-memory-gb"):
        budget(0.0, 768)
