"""A SNAC release folder by path (``--model DIR``: the Hugging Face layout, config.json +
pytorch_model.bin) is recognised by its config's fields and loaded as the registry's SNAC of
its sampling rate; a SNAC-looking config with a wrong-typed or missing field is one line
naming the file and the field."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

import audiotok
from audiotok import folder_formats, registry
from audiotok.errors import AudiotokError

TINY = dict(
    sampling_rate=24000, encoder_dim=8, encoder_rates=[2, 4], decoder_dim=32,
    decoder_rates=[4, 2], attn_window_size=None, codebook_size=64, codebook_dim=4,
    vq_strides=[4, 2, 1], noise=True, depthwise=True,
)  # fmt: skip


def _cli(args, capsys):
    from audiotok.cli.app import main

    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _release(folder, config=TINY, variant="24khz"):
    folder.mkdir(parents=True, exist_ok=True)
    codec = registry.get(f"snac-{variant}").build(pretrained=False, config=config, seed=7)
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(codec.model.state_dict(), folder / "pytorch_model.bin")
    return folder


def test_encode_with_a_snac_folder_as_model(tmp_path, capsys):
    folder = _release(tmp_path / "snac_24khz")
    assert folder_formats.identify(folder).name == "huggingface-snac"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    g = np.random.default_rng(1)
    for i, n in enumerate((300, 520)):
        sf.write(corpus / f"u{i}.wav", 0.1 * g.standard_normal(n), 24000)
    tok = tmp_path / "tok"
    rc, _, err = _cli(
        ["encode", corpus, "-o", tok, "--model", folder, "--num-workers", "0", "-q"], capsys
    )  # fmt: skip (the kind is the model's own)
    assert rc == 0, err
    store = audiotok.open_tokens(str(tok))
    assert store.spec.name == "snac-24khz" and store.spec.strides == (4, 2, 1)
    assert store.recipe.name == str(folder.resolve())
    by_name = audiotok.load("snac-24khz", weights=str(folder))  # the same weights, named
    assert store.spec.weights_sha256 == by_name.spec.weights_sha256
    for i in range(2):
        x, _ = sf.read(corpus / f"u{i}.wav", dtype="float32")
        np.testing.assert_array_equal(store.get(f"u{i}"), by_name.encode(x, 24000).numpy())
    rebuilt = audiotok.load_for_store(str(tok), device="cpu")  # from the recipe: the folder
    assert rebuilt.spec.weights_sha256 == store.spec.weights_sha256


def test_a_folder_of_another_rate_loads_its_snac(tmp_path):
    cfg = dict(
        sampling_rate=44100, encoder_dim=32, encoder_rates=[2, 2], decoder_dim=128,
        decoder_rates=[2, 2], attn_window_size=4, codebook_size=64, codebook_dim=4,
        vq_strides=[8, 4, 2, 1], noise=True, depthwise=True,
    )  # fmt: skip
    tok = audiotok.load(str(_release(tmp_path / "s44", cfg, "44khz")))
    assert tok.spec.name == "snac-44khz" and tok.spec.strides == (8, 4, 2, 1)
    cfg16 = {**TINY, "sampling_rate": 16000}
    folder = tmp_path / "s16"
    _release(folder)
    (folder / "config.json").write_text(json.dumps(cfg16))
    with pytest.raises(AudiotokError) as e:
        audiotok.load(str(folder))
    msg = str(e.value)
    assert "\n" not in msg and str(folder / "config.json") in msg and "24000 Hz" in msg


@pytest.mark.parametrize(
    ("change", "field", "what"),
    [
        ({"vq_strides": "4,2,1"}, "vq_strides", "a list of integers"),
        ({"encoder_rates": [2, 4.5]}, "encoder_rates", "a list of integers"),
        ({"noise": 1}, "noise", "true or false"),
        ({"codebook_size": True}, "codebook_size", "an integer"),
        ({"sampling_rate": None}, "sampling_rate", "an integer"),
    ],
)
def test_a_wrong_typed_field_is_one_line_naming_file_and_field(tmp_path, capsys, change,
                                                                field, what):  # fmt: skip
    folder = _release(tmp_path / "m")
    (folder / "config.json").write_text(json.dumps({**TINY, **change}))
    for load in (lambda: audiotok.load(str(folder)),
                 lambda: audiotok.load("snac-24khz", weights=str(folder))):  # fmt: skip
        with pytest.raises(AudiotokError) as e:
            load()
        msg = str(e.value)
        assert "\n" not in msg and str(folder / "config.json") in msg
        assert f'field "{field}" must be {what}' in msg
    args = ["encode", tmp_path, "-o", tmp_path / "t", "--kind", "acoustic", "--model", folder]
    rc, _, err = _cli(args, capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and f'"{field}"' in err


def test_missing_fields_and_auto_map_are_refused(tmp_path):
    folder = _release(tmp_path / "m")
    cfg = {k: v for k, v in TINY.items() if k != "sampling_rate"}
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(AudiotokError, match='needs field "sampling_rate"'):
        audiotok.load(str(folder))
    (folder / "config.json").write_text(json.dumps({**TINY, "auto_map": {"AutoModel": "x.Y"}}))
    with pytest.raises(AudiotokError, match='"auto_map"'):
        audiotok.load(str(folder))
    (folder / "pytorch_model.bin").unlink()
    (folder / "config.json").write_text(json.dumps(TINY))
    with pytest.raises(AudiotokError, match="pytorch_model.bin"):
        audiotok.load(str(folder))
