"""`audiotok eval roundtrip` and `eval recon` with XCodec2 and WavTokenizer (tiny weights).

The registry entries are given the tests' reduced sizes as default options (the CLI has no
option for sizes); the weights go through ``--weights`` and the real loaders.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import soundfile as sf

from audiotok import registry
from audiotok.cli.app import main

from audio_fixtures import speechlike


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _tiny_entry(monkeypatch, name: str, config: dict) -> None:
    registry._ensure_loaded()
    entry = registry.get(name)
    tiny = dataclasses.replace(entry, options={**entry.options, "config": config})
    monkeypatch.setitem(registry._REGISTRY, name, tiny)


def _xcodec2_weights(tmp_path):
    from safetensors.torch import save_file
    from test_xcodec2 import TINY, _tiny

    from audiotok.codecs.xcodec2 import SEMANTIC_PREFIX

    codec = _tiny()
    state = {k: v.contiguous() for k, v in codec.model.state_dict().items()}
    for k, v in codec.semantic.state_dict().items():
        state[SEMANTIC_PREFIX + k] = v.contiguous()
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    return path, TINY


def _wavtokenizer_weights(tmp_path):
    from test_wavtokenizer import TINY, _checkpoint

    return _checkpoint(tmp_path, 75), TINY


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "rate", "bits", "weights"),
    [
        ("xcodec2", 16000, 50 * 16, _xcodec2_weights),
        ("wavtokenizer-small-75", 24000, 75 * 6, _wavtokenizer_weights),  # 64 entries: 6 bits
    ],
)
def test_roundtrip_then_recon(tmp_path, capsys, monkeypatch, name, rate, bits, weights):
    path, config = weights(tmp_path)
    _tiny_entry(monkeypatch, name, config)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(2):
        sf.write(corpus / f"u{i}.wav", speechlike(0.5 + 0.25 * i, rate, i), rate)
    out = tmp_path / "rt"
    code, stdout, err = _run(
        ["eval", "roundtrip", corpus, "--model", name, "--weights", path, "-o", out,
         "--device", "cpu", "--json", "--metrics", "mel_distance,si_sdr"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["spec"]["name"] == name and doc["spec"]["num_codebooks"] == 1
    assert doc["summary"]["bitrate_kbps"] == pytest.approx(bits / 1000)
    assert {f["id"] for f in doc["files"]} == {"u0", "u1"}
    decoded = sorted(p.name for p in (out / "decoded").rglob("*.wav"))
    assert decoded == ["u0.wav", "u1.wav"]

    code, stdout, err = _run(
        ["eval", "recon", corpus, out / "decoded", "--tokens", out / "tokens", "--json",
         "--metrics", "mel_distance"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    recon = json.loads(stdout)
    assert recon["summary"]["bitrate_kbps"] == pytest.approx(bits / 1000)
    # the same pairs scored again: the round trip's figures
    rt = {f["id"]: f["mel_distance"] for f in doc["files"]}
    assert {f["id"]: f["mel_distance"] for f in recon["files"]} == pytest.approx(rt)
    assert all(v > 0 and not f["errors"] for v, f in zip(rt.values(), doc["files"], strict=True))
