"""Loaders with checkpoints the tests write; checksum errors; encode/decode via the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

import audiotok
from audiotok.errors import ChecksumError, MissingWeightsError, UnsafeCheckpointError

from codec_reference import (
    assert_dac_codes_match,
    dac_reference,
    encodec_reference,
    save_dac_release,
)
from codec_tiny import TINY_ENCODEC, noise


def _dac_checkpoint(path, seed: int = 1):
    """A tiny DAC (transformers' DacModel) saved the way DAC releases are (audiotools
    BaseModel.save, package=False, descript-audio-codec key names)."""
    model, kwargs = dac_reference("16khz", seed)
    save_dac_release(model, kwargs, path)
    return model


def _ref_codes(model, x):
    xp = torch.nn.functional.pad(x, (0, -len(x) % 320)).view(1, 1, -1)  # DAC.preprocess
    with torch.inference_mode():
        return model.encode(xp).audio_codes[0]


def test_dac_loads_a_release_style_checkpoint_with_weights_only(tmp_path):
    path = tmp_path / "weights_16khz.pth"
    model = _dac_checkpoint(path)
    codec = audiotok.load("dac-16khz", weights=str(path))
    x = noise(0.5, 16000)
    assert_dac_codes_match(codec, x, _ref_codes(model, x))
    assert codec.spec.weights_sha256 and codec.weights_path == str(path.resolve())


class Opaque:  # a non-tensor object: weights_only loading refuses it
    pass


def test_dac_pickled_objects_need_the_explicit_conversion(tmp_path, capsys):
    from audiotok.codecs.pickle_convert import convert, main

    path = tmp_path / "weights_16khz.pth"
    model = _dac_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    ckpt["metadata"]["opaque"] = Opaque()
    ckpt["metadata"]["kwargs"]["opaque"] = Opaque()  # not JSON: left out of the side file
    torch.save(ckpt, path)
    with pytest.raises(UnsafeCheckpointError) as refused:
        audiotok.load("dac-16khz", weights=str(path))
    cmd = f"python -m audiotok.codecs.pickle_convert dac {path} --allow-pickle"
    assert cmd in str(refused.value)
    with pytest.raises(UnsafeCheckpointError, match="--allow-pickle"):
        convert(path, "dac")  # no opt-in
    assert main(["dac", str(path)]) == 2 and "--allow-pickle" in capsys.readouterr().err
    assert not path.with_suffix(".safetensors").exists()
    assert main(cmd.split()[3:]) == 0  # the command the refusal names
    st = path.with_suffix(".safetensors")
    assert capsys.readouterr().out.strip() == str(st)
    side = json.loads(st.with_suffix(".json").read_text())
    assert side["kwargs"]["sample_rate"] == 16000 and "opaque" not in side["kwargs"]
    codec = audiotok.load("dac-16khz", weights=str(st))
    x = noise(0.3, 16000)
    assert_dac_codes_match(codec, x, _ref_codes(model, x))


def test_encodec_checksum_mismatch_and_missing_weights(tmp_path, monkeypatch):
    bad = tmp_path / "encodec_48khz-7e698e3e.th"
    torch.save({"not": torch.zeros(1)}, bad)
    with pytest.raises(ChecksumError, match="7e698e3e"):
        audiotok.load("encodec-48khz", weights=str(bad))
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    with pytest.raises(MissingWeightsError, match="releases/download/0.0.1/weights.pth"):
        audiotok.load("dac-44khz")
    with pytest.raises(MissingWeightsError, match="encodec_48khz-7e698e3e.th"):
        audiotok.load("encodec-48khz")


def test_encodec_loads_a_checkpoint_the_test_writes(tmp_path):
    """A state dict of the encodec package's model (its key names), as the released .th."""
    model = encodec_reference("24khz", seed=3)
    path = tmp_path / "mine.th"
    torch.save(model.state_dict(), path)
    codec = audiotok.load("encodec-24khz", weights=str(path), config=TINY_ENCODEC, bandwidth=3.0)
    x = noise(0.5, 24000)
    with torch.inference_mode():
        model.set_target_bandwidth(3.0)
        ref = model.encode(x.view(1, 1, -1))[0][0]
        ours = codec.encode(x, 24000)
        assert_equal_but_float32_ties(model, x, ours, ref[0])


def assert_equal_but_float32_ties(model, x, ours, ref):
    """encodec picks entries from a float32 distance matrix whose rounding depends on its shape;
    audiotok picks them in float64 (audiotok/codecs/nearest.py). Codes must be equal, except
    where, at a frame's first differing stage, the two entries are equally near to float32
    rounding (later stages of that frame then differ as a consequence)."""
    residual = model.encoder(x.view(1, 1, -1))[0].double()  # [D, T']
    first_diff: set[int] = set()
    for k, layer in enumerate(model.quantizer.vq.layers[: ref.shape[0]]):
        e = layer._codebook.embed.double()
        for t in (ours[k] != ref[k]).nonzero().flatten().tolist():
            if t in first_diff:
                continue
            first_diff.add(t)
            r = residual[:, t]
            d = ((r - e[int(ours[k, t])]) ** 2).sum(), ((r - e[int(ref[k, t])]) ** 2).sum()
            scale = float(r.pow(2).sum() + e[int(ref[k, t])].pow(2).sum())
            assert d[0] <= d[1] and float(d[1] - d[0]) <= 1e-6 * scale, (k, t, d, scale)
        residual = residual - layer.decode(ref[k][None])[0].double()
    assert len(first_diff) <= max(1, ours.shape[-1] // 20)  # ties are rare, not the rule


def _run(argv, capsys):
    from audiotok.cli.app import main

    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_dac_encode_decode_through_the_cli(tmp_path, capsys):
    w = tmp_path / "weights_16khz.pth"
    _dac_checkpoint(w)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, secs in enumerate((0.7, 1.3, 0.4)):
        sf.write(corpus / f"u{i}.wav", noise(secs, 16000, seed=i).numpy(), 16000)
    tok = tmp_path / "tok"
    rc, _, err = _run(
        [
            "encode",
            str(corpus),
            "-o",
            str(tok),
            "--kind",
            "acoustic",
            "--model",
            "dac-16khz",
            "--weights",
            str(w),
            "--n-codebooks",
            "3",
            "--num-workers",
            "0",
            "-q",
        ],
        capsys,
    )
    assert rc == 0, err
    store = audiotok.open_tokens(str(tok))
    assert store.spec.num_codebooks == 3 and store.spec.bitrate == 3 * 50 * 10
    codes = dict(store)
    assert codes["u1"].shape == (3, 65)  # ceil(1.3 * 16000 / 320)
    rc, _, err = _run(["decode", str(tok), "-o", str(tmp_path / "wavs")], capsys)
    assert rc == 0, err
    for i, secs in enumerate((0.7, 1.3, 0.4)):
        y, sr = sf.read(tmp_path / "wavs" / f"u{i}.wav")
        assert sr == 16000 and abs(len(y) - round(secs * 16000)) <= 8
    rc, _, _ = _run(["decode", str(tok), "--id", "u2", "-o", str(tmp_path / "one.wav")], capsys)
    one, _ = sf.read(tmp_path / "one.wav")
    batch, _ = sf.read(tmp_path / "wavs" / "u2.wav")
    assert rc == 0  # batched decode == decoded alone, to float rounding (one 16-bit step)
    np.testing.assert_allclose(one, batch, atol=2 / 32768, rtol=0)
