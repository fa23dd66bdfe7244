"""Weights loading errors, the fairseq opt-in, layer combination, the feature store and CLI."""

from __future__ import annotations

import argparse
import pickle
import sys
import types

import numpy as np
import pytest
import soundfile as sf
import torch

from audiotok import extractors
from audiotok.errors import AudiotokError, MissingWeightsError, UnsafeCheckpointError

from s3m_tiny import tiny


def test_missing_weights_say_which_file_goes_where(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as e:
        extractors.load("hubert-large-ll60k", layers=[22])
    msg = str(e.value)
    assert str(tmp_path / "hubert-large-ll60k" / "pytorch_model.bin") in msg
    assert "config.json" in msg and "huggingface.co/facebook/hubert-large-ll60k" in msg


def test_cache_folder_loads_and_checks_sha(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path))
    src = tiny("hubert-group")
    from audiotok.extractors import hf_models

    hf_models.random_model(src.model.config).save_pretrained(tmp_path / "wavlm-base-plus")
    (tmp_path / "wavlm-base-plus" / "model.safetensors").rename(
        tmp_path / "wavlm-base-plus" / "pytorch_model.bin"
    )  # the registry names pytorch_model.bin; no published sha256 for this one
    from audiotok.errors import UnsafeCheckpointError

    with pytest.raises(UnsafeCheckpointError):  # a safetensors file is no torch pickle
        extractors.load("wavlm-base-plus", layers=[1])
    d = tmp_path / "hubert-base-ls960"
    hf_models.random_model(src.model.config).save_pretrained(d)
    torch.save(dict(hf_models.random_model(src.model.config).state_dict()), d / "pytorch_model.bin")
    (d / "model.safetensors").unlink()
    from audiotok.errors import ChecksumError

    with pytest.raises(ChecksumError, match="published"):
        extractors.load("hubert-base-ls960", layers=[1])


def test_fairseq_pickle_refused_without_the_flag(tmp_path):
    p = tmp_path / "checkpoint_best.pt"
    with open(p, "wb") as f:  # old fairseq checkpoints pickle an argparse.Namespace
        pickle.dump({"model": {}, "args": argparse.Namespace(arch="hubert")}, f)
    with pytest.raises(UnsafeCheckpointError, match="--allow-pickle"):
        extractors.load("hubert-base-ls960", weights=str(p))


def test_fairseq_checkpoint_converts_once_with_the_flag(tmp_path, monkeypatch):
    """A fairseq-keyed HuBERT checkpoint (pickled with a foreign class) converts to
    safetensors; its features equal the source model's; a second load does not unpickle."""
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    from torchaudio.models import wav2vec2_model
    from torchaudio.models.wav2vec2.utils.import_huggingface import _get_config

    from s3m_tiny import TINY

    src = tiny("hubert-group", layers=[1, 2])
    ta = wav2vec2_model(**_get_config(src.model.config), aux_num_out=None).eval()
    fair = {}
    for k, v in ta.state_dict().items():  # torchaudio -> fairseq names (inverse of its mapping)
        k = k.replace(
            "feature_extractor.conv_layers.0.layer_norm", "feature_extractor.conv_layers.0.2"
        )
        k = k.replace(".conv.", ".0.") if k.startswith("feature_extractor") else k
        k = k.replace("encoder.feature_projection.projection", "post_extract_proj")
        k = k.replace("encoder.feature_projection.layer_norm", "layer_norm")
        k = k.replace(
            "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original0",
            "encoder.pos_conv.0.weight_g",
        )
        k = k.replace(
            "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original1",
            "encoder.pos_conv.0.weight_v",
        )
        k = k.replace("encoder.transformer.pos_conv_embed.conv", "encoder.pos_conv.0")
        k = k.replace("encoder.transformer.", "encoder.")
        k = k.replace(".attention.", ".self_attn.").replace(
            ".layer_norm.", ".self_attn_layer_norm."
        )
        k = k.replace("encoder.self_attn_layer_norm.", "encoder.layer_norm.")
        k = k.replace("feed_forward.intermediate_dense", "fc1").replace(
            "feed_forward.output_dense", "fc2"
        )
        fair[k] = v
    conv = "[(16, 10, 5)] + [(16, 3, 2)] * 2"
    cfg = {
        "model": {
            "_name": "hubert",
            "extractor_mode": "default",
            "conv_feature_layers": conv,
            "encoder_embed_dim": 32,
            "encoder_layers": 2,
            "encoder_attention_heads": 2,
            "encoder_ffn_embed_dim": 64,
            "conv_pos": TINY["num_conv_pos_embeddings"],
            "conv_pos_groups": 2,
            "layer_norm_first": False,
            "conv_bias": False,
        },
        "task": {"normalize": False},
    }

    # real checkpoints pickle fairseq.data.dictionary.Dictionary, absent on this machine
    fake = types.ModuleType("fairseq_absent")
    Dictionary = type("Dictionary", (), {"__module__": "fairseq_absent"})
    fake.Dictionary = Dictionary
    sys.modules["fairseq_absent"] = fake
    p = tmp_path / "hubert_tiny.pt"
    try:
        torch.save({"model": fair, "cfg": cfg, "task_state": {"dicts": [Dictionary()]}}, p)
    finally:
        del sys.modules["fairseq_absent"]
    with pytest.raises(UnsafeCheckpointError):
        extractors.load("hubert-base-ls960", weights=str(p), layers=[1, 2])
    ex = extractors.load("hubert-base-ls960", weights=str(p), layers=[1, 2], allow_pickle=True)
    assert ex.weights_path.endswith("model.safetensors")
    wav = torch.randn(1, 2000)
    feats, _ = ex.extract_layers(wav, torch.tensor([2000]))
    with torch.no_grad():
        outs, _ = ta.extract_features(wav)
    torch.testing.assert_close(feats[2][0], outs[1][0], atol=2e-5, rtol=1e-4)
    import audiotok.extractors.fairseq_convert as fc

    monkeypatch.setattr(fc, "_PICKLE", None)  # a second load must not unpickle at all
    again = extractors.load("hubert-base-ls960", weights=str(p), layers=[2], allow_pickle=True)
    assert again.weights_sha256 == ex.weights_sha256


def test_layer_selection_and_combination():
    ex = tiny("wav2vec2-group", layers="0,2", combine="mean")
    assert ex.layer is None and ex.layers == (0, 2)
    wav = torch.randn(1, 2000)
    per, _ = ex.extract_layers(wav, torch.tensor([2000]))
    mean, _ = ex(wav, torch.tensor([2000]))
    torch.testing.assert_close(mean, (per[0] + per[2]) / 2)
    w = tiny("wav2vec2-group", layers=[0, 2], combine="weighted", layer_weights=[0.25, 2.0])
    fixed, _ = w(wav, torch.tensor([2000]))
    torch.testing.assert_close(fixed, 0.25 * per[0] + 2.0 * per[2])
    learned = tiny("wav2vec2-group", layers=[0, 2], combine="learned")
    out, _ = learned(wav, torch.tensor([2000]))
    out.sum().backward()  # the weights train; the backbone is frozen
    assert learned.combiner.logits.grad is not None
    with pytest.raises(AudiotokError, match="layers 0 .* to 2"):
        tiny("wav2vec2-group", layers=[3])
    assert tiny("wav2vec2-group", layers=[1]).layer == 1


def _corpus(root, sr=16000):
    root.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(int(0.7 * sr)) / sr
    sf.write(root / "a.wav", 0.3 * np.sin(2 * np.pi * 220 * t), sr)
    sf.write(root / "b.wav", 0.1 * rng.standard_normal(int(0.45 * sr)), sr)
    sf.write(root / "c.flac", 0.2 * rng.standard_normal(int(0.3 * 8000)), 8000)  # resampled
    (root / "bad.wav").write_bytes(b"not audio at all")
    return root


def test_extract_cli_writes_reads_resumes_and_exports(tmp_path):
    from audiotok.cli.app import main
    from audiotok.extractors.features_store import open_features

    corpus = _corpus(tmp_path / "corpus")
    src = tiny("hubert-group")
    from audiotok.extractors import hf_models

    hf_models.random_model(src.model.config).save_pretrained(tmp_path / "m")
    out = tmp_path / "feats"
    args = [
        "extract",
        str(corpus),
        "-o",
        str(out),
        "--model",
        str(tmp_path / "m"),
        "--layer",
        "1,2",
        "--num-workers",
        "0",
        "-q",
        "--shard-size",
        "2",
        "--device",
        "cpu",
    ]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 1  # one bad file
    store = open_features(out)
    assert store.layers == [1, 2] and len(store) == 3
    assert [x["path"] for x in store.errors] == ["bad.wav"]
    h = store.header_for(2)
    assert h["layer"] == 2 and h["dim"] == 32 and h["frame_rate"] == 800.0
    ex = extractors.load(str(tmp_path / "m"), layers=[1, 2])
    assert h["weights_sha256"] == ex.weights_sha256
    from audiotok import audio

    for utt, feats in store.iter(2):
        wav = torch.from_numpy(audio.read(str(corpus / next(corpus.glob(utt + ".*")).name), 16000))
        want, fl = ex.extract_layers(wav[None], torch.tensor([len(wav)]))
        assert feats.dtype == np.float16 and feats.shape == (int(fl[0]), 32)
        np.testing.assert_allclose(
            feats.astype(np.float32), want[2][0].numpy(), atol=2e-2, rtol=2e-3
        )
    # rerun: nothing recomputed; export to fairseq's layout
    with pytest.raises(SystemExit):
        main([*args, "--fairseq", str(tmp_path / "fs")])
    assert len(open_features(out)) == 3
    lens = [int(x) for x in (tmp_path / "fs" / "L2" / "train_0_1.len").read_text().split()]
    arr = np.load(tmp_path / "fs" / "L2" / "train_0_1.npy")
    assert arr.dtype == np.float32 and arr.shape == (sum(lens), 32)
    first = next(iter(store.iter(2)))[1]
    np.testing.assert_array_equal(arr[: lens[0]], first.astype(np.float32))


def test_extract_cli_mfcc_and_usage_errors(tmp_path):
    from audiotok.cli.app import main
    from audiotok.extractors.features_store import open_features

    corpus = _corpus(tmp_path / "corpus")
    with pytest.raises(SystemExit) as e:
        main(["extract", str(corpus), "-o", str(tmp_path / "f"), "--num-workers", "0", "-q"])
    assert e.value.code == 1
    store = open_features(tmp_path / "f")
    assert store.layers == [None] and store.header["extractor"] == "mfcc"
    assert all(f.shape[1] == 39 for _, f in store)
    with pytest.raises(SystemExit) as e:
        main(["extract", str(corpus), "-o", str(tmp_path / "g"), "--layer", "3", "-q"])
    assert e.value.code == 2
    assert e.value.code == 2
    # the same store with features of another model: refused, naming what differs (a real
    # model folder, so the refusal cannot come from missing weights)
    src = tiny("hubert-group")
    from audiotok.extractors import hf_models

    hf_models.random_model(src.model.config).save_pretrained(tmp_path / "m")
    args = ["extract", str(corpus), "--model", str(tmp_path / "m"), "--num-workers", "0", "-q"]
    with pytest.raises(SystemExit) as e:
        main([*args, "-o", str(tmp_path / "h"), "--layer", "1"])
    assert e.value.code == 1  # the corpus has one bad file
    with pytest.raises(SystemExit) as e:
        main([*args, "-o", str(tmp_path / "h"), "--layer", "2"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main([*args, "-o", str(tmp_path / "f"), "--layer", "1"])
    assert e.value.code == 2  # an mfcc store is not hubert's


def test_overwrite_removes_only_the_feature_store(tmp_path):
    from audiotok.errors import AudiotokError
    from audiotok.extractors.features_store import FeatureWriter, open_features

    header = {
        "extractor": "mfcc",
        "layers": [None],
        "dim": 2,
        "frame_rate": 100.0,
        "sample_rate": 16000,
        "weights_sha256": "",
    }
    w = FeatureWriter(tmp_path / "f", header)
    w.add("a", "a.wav", 800, {None: np.ones((3, 2))})
    w.close()
    (tmp_path / "f" / "notes.txt").write_text("the user's")
    FeatureWriter(tmp_path / "f", header, overwrite=True).close()
    assert (tmp_path / "f" / "notes.txt").read_text() == "the user's"
    assert len(open_features(tmp_path / "f")) == 0
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "manifest.json").write_text('{"format": "audiotok-tokens", "spec": {}}')
    with pytest.raises(AudiotokError, match="another kind"):
        FeatureWriter(tmp_path / "t", header, overwrite=True)
    assert (tmp_path / "t" / "manifest.json").exists()
