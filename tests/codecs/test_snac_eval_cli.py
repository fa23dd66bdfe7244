"""`audiotok eval roundtrip` and `eval recon` with SNAC (tiny random weights, a release folder
the test writes), as tests/codecs/test_single_codebook_cli.py does for XCodec2 and
WavTokenizer; and `audiotok info` of a multi-rate store. A multi-rate bitrate is the sum over
codebooks of rate_k * log2(size), not K times the finest rate."""

from __future__ import annotations

import json

import pytest
import soundfile as sf
import torch
from test_single_codebook_cli import _run

from audiotok import registry

from audio_fixtures import speechlike

TINY = dict(
    sampling_rate=24000, encoder_dim=8, encoder_rates=[2, 4], decoder_dim=32,
    decoder_rates=[4, 2], attn_window_size=None, codebook_size=64, codebook_dim=4,
    vq_strides=[4, 2, 1], noise=True, depthwise=True,
)  # fmt: skip
# hop 8: codebooks at 750, 1500 and 3000 Hz, 6 bits each (64 entries)
BITS = (750 + 1500 + 3000) * 6


@pytest.fixture
def release(tmp_path):
    folder = tmp_path / "snac_24khz"
    folder.mkdir()
    codec = registry.get("snac-24khz").build(pretrained=False, config=TINY, seed=2)
    (folder / "config.json").write_text(json.dumps(TINY))
    torch.save(codec.model.state_dict(), folder / "pytorch_model.bin")
    return folder


@pytest.mark.parametrize("by", ["name", "folder"])
def test_snac_roundtrip_then_recon_then_info(tmp_path, capsys, release, by):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(2):
        sf.write(corpus / f"u{i}.wav", speechlike(0.1 + 0.05 * i, 24000, i), 24000)
    out = tmp_path / "rt"
    model = ["--model", "snac-24khz", "--weights", release] if by == "name" else [
        "--model", release]  # fmt: skip
    code, stdout, err = _run(
        ["eval", "roundtrip", corpus, *model, "-o", out, "--device", "cpu", "--json",
         "--metrics", "mel_distance,si_sdr"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["spec"]["name"] == "snac-24khz" and doc["spec"]["num_codebooks"] == 3
    assert doc["spec"]["codebook_frame_rates"] == [750.0, 1500.0, 3000.0]
    assert doc["summary"]["bitrate_kbps"] == pytest.approx(BITS / 1000)
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
    assert recon["summary"]["bitrate_kbps"] == pytest.approx(BITS / 1000)
    rt = {f["id"]: f["mel_distance"] for f in doc["files"]}
    assert {f["id"]: f["mel_distance"] for f in recon["files"]} == pytest.approx(rt)
    assert all(v > 0 and not f["errors"] for v, f in zip(rt.values(), doc["files"], strict=True))

    code, stdout, err = _run(["info", out / "tokens"], capsys)
    assert code == 0, err
    line = next(x for x in stdout.splitlines() if x.startswith("tokenizer"))
    assert f"{BITS / 1000:.3g} kbps" in line and "750 / 1.5e+03 / 3e+03 Hz" in line


def test_released_snac_bitrates():
    """The released configurations: 24 kHz (hop 512, strides 4, 2, 1) is 0.984 kbps, as the
    SNAC README's 0.98 kbps; 32 kHz (hop 384, strides 8, 4, 2, 1) 1.9 kbps; 44 kHz 2.6 kbps."""
    from audiotok.cli.common import describe_spec
    from audiotok.spec import TokenSpec

    want = {"snac-24khz": 0.984, "snac-32khz": 1.875, "snac-44khz": 2.58}
    for name, kbps in want.items():
        e = registry.get(name)
        fr = e.frame_rate
        strides = (4, 2, 1) if name == "snac-24khz" else (8, 4, 2, 1)
        spec = TokenSpec("acoustic", name, e.sample_rate, fr, len(strides), 4096,
                         codebook_frame_rates=tuple(fr / s for s in strides))  # fmt: skip
        assert spec.bitrate / 1000 == pytest.approx(kbps, abs=0.005)
        assert f"{spec.bitrate / 1000:.3g} kbps" in describe_spec(spec)
        assert f"{spec.bitrate / 1000:.2f} kbps" in e.description
