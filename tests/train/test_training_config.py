"""Training configs: JSON round trip, one-line errors naming the file and the key, dotted
overrides, and what a resume may change."""

from __future__ import annotations

import json

import pytest

from audiotok.errors import AudiotokError
from audiotok.train import config
from audiotok.train.hybrid_config import HybridTrainConfig
from audiotok.train.vocoder_config import VocoderTrainConfig


def _write(tmp_path, data, name="cfg.json"):
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


@pytest.mark.parametrize("cls", [HybridTrainConfig, VocoderTrainConfig])
def test_saved_config_loads_back_equal(cls, tmp_path):
    cfg = config.override(cls(), {"seed": 3, "optim.lr": 1e-3, "optim.betas": [0.5, 0.9],
                                  "discriminators.names": ["mpd"]})  # fmt: skip
    config.save(cfg, tmp_path)
    back = config.load(cls, tmp_path / "train.json")
    assert back == cfg and back.optim.betas == (0.5, 0.9) and back.seed == 3
    assert back.discriminators.names == ("mpd",)
    # a partial file keeps every other default
    part = config.load(cls, _write(tmp_path, {"optim": {"lr": 0.5}}))
    assert part.optim.lr == 0.5 and part.optim.betas == cls().optim.betas


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"optim": {"lrr": 1}}, "unknown key 'optim.lrr'"),
        ({"colour": 1}, "unknown key 'colour'"),
        ({"optim": {"lr": "fast"}}, "'optim.lr' must be a number, not \"fast\""),
        ({"data": {"batch_size": 2.5}}, "'data.batch_size' must be an integer, not 2.5"),
        ({"data": {"batch_size": True}}, "'data.batch_size' must be an integer, not true"),
        ({"optim": {"betas": [0.9]}}, "'optim.betas' must be a list of 2 numbers, not [0.9]"),
        ({"optim": 3}, "'optim' must be an object, not 3"),
        ({"optim": {"grad_clip": "x"}}, "'optim.grad_clip' must be a number or null"),
        ({"model": {"arch": {"n_filterz": 2}}}, "unknown key 'model.arch.n_filterz'"),
        ({"model": {"strides": [8, "5"]}}, "'model.strides' must be a list of integers"),
        ({"loss": {"mel": [45, "1"]}}, "'loss.mel' must be a list of numbers"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_file_and_key(tmp_path, data, words):
    path = _write(tmp_path, data)
    with pytest.raises(AudiotokError) as e:
        config.load(HybridTrainConfig, path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and words in msg and "\n" not in msg
    for code in ("Config", "int", "float", "NoneType", "tuple", "dict["):  # JSON's words only
        assert code not in msg.replace("integer", ""), msg


def test_other_bad_files(tmp_path):
    for text, words in (("{", "not JSON"), ("[1]", "a JSON object")):
        p = tmp_path / "c.json"
        p.write_text(text)
        with pytest.raises(AudiotokError, match=words) as e:
            config.load(VocoderTrainConfig, p)
        assert str(e.value).startswith(str(p))
    with pytest.raises(AudiotokError, match="cannot read"):
        config.load(VocoderTrainConfig, tmp_path / "missing.json")
    with pytest.raises(AudiotokError, match="unknown key 'model.num_units'"):  # from the store
        config.load(VocoderTrainConfig, _write(tmp_path, {"model": {"num_units": 3}}))


def test_override_sets_dotted_keys_with_the_same_checks():
    base = VocoderTrainConfig()
    cfg = config.override(base, {"data.batch_size": 4, "model.embedding_dim": 8, "optim.lr": 1})
    assert cfg.data.batch_size == 4 and cfg.model == {"embedding_dim": 8}
    assert isinstance(cfg.optim.lr, float) and base.data.batch_size == 16  # a copy
    with pytest.raises(AudiotokError, match="the command line: unknown key 'data.nope'"):
        config.override(base, {"data.nope": 1})
    with pytest.raises(AudiotokError, match="'seed' must be an integer"):
        config.override(base, {"seed": "x"})


def test_compare_refuses_identity_keys_and_lists_the_rest():
    a = config.override(HybridTrainConfig(), {"model.codebook_size": 16})
    b = config.override(a, {"model.codebook_size": 32, "optim.lr": 0.5, "schedule.steps": 9})
    refused, listed = config.compare(config.to_dict(a), b, HybridTrainConfig.IDENTITY)
    assert refused == ["model.codebook_size: 16 -> 32"]
    assert listed == ["optim.lr: 0.0001 -> 0.5", "schedule.steps: 100000 -> 9"]
    c = config.override(a, {"model.arch.dimension": 8})  # inside an object: still identity
    assert config.compare(config.to_dict(a), c, HybridTrainConfig.IDENTITY)[0] == [
        "model.arch.dimension: None -> 8"
    ]
