"""SNAC parity: our network (audiotok.codecs.snac_model) and the ``snac`` package's, with the
same random weights, give equal codes and decoded audio equal within float tolerance, for a
tiny speech configuration (strides 4, 2, 1, no attention, as snac_24khz) and a tiny music one
(strides 8, 4, 2, 1 with local attention, as snac_32khz / snac_44khz), at several lengths.

The package's weights are written by the test as a release folder (``config.json`` +
``pytorch_model.bin`` with torch's weight-norm parametrisation keys) and loaded through
``audiotok.load(..., weights=FOLDER)``, so the loader is proven on that layout too.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import audiotok
from audiotok import registry
from audiotok.errors import AudiotokError

snac = pytest.importorskip("snac")  # the [test] extra installs it

TINY = {
    "24khz": dict(
        sampling_rate=24000, encoder_dim=8, encoder_rates=[2, 4], decoder_dim=32,
        decoder_rates=[4, 2], attn_window_size=None, codebook_size=64, codebook_dim=4,
        vq_strides=[4, 2, 1], noise=True, depthwise=True,
    ),
    "44khz": dict(
        sampling_rate=44100, encoder_dim=32, encoder_rates=[2, 2], decoder_dim=128,
        decoder_rates=[2, 2], attn_window_size=4, codebook_size=64, codebook_dim=4,
        vq_strides=[8, 4, 2, 1], noise=True, depthwise=True,
    ),
}  # fmt: skip
ATOL = 1e-5


def _as_package_keys(state: dict) -> dict:
    out = {}
    for k, v in state.items():
        k = k.replace("weight_g", "parametrizations.weight.original0")
        out[k.replace("weight_v", "parametrizations.weight.original1")] = v
    return out


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request, tmp_path_factory):
    variant = request.param
    cfg = TINY[variant]
    ours = registry.get(f"snac-{variant}").build(pretrained=False, config=cfg, seed=3)
    state = _as_package_keys(ours.model.state_dict())
    with torch.random.fork_rng(devices=[]):
        ref = snac.SNAC(**cfg).eval()
    ref.load_state_dict(state)  # strict: our key names are the package's
    folder = tmp_path_factory.mktemp(f"snac_{variant}")
    (folder / "config.json").write_text(json.dumps({**cfg, "unknown_field": 1}))
    torch.save(state, folder / "pytorch_model.bin")
    codec = audiotok.load(f"snac-{variant}", weights=str(folder))
    return ref, codec


def _signal(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(n, generator=g)


def test_snac_codes_and_audio_equal_the_package(pair):
    ref, codec = pair
    m = codec.pad_multiple
    strides = codec.strides
    assert codec.spec.multirate and codec.spec.strides == strides
    for i, n in enumerate([m // 3, m + 5, 3 * m]):  # padded to a multiple of m, as upstream
        x = _signal(n, seed=i)
        with torch.no_grad():
            ref_codes = ref.encode(x.view(1, 1, -1))
        codes = codec.encode(x.numpy(), codec.sample_rate)  # [K, T'] repeated layout
        assert codes.shape == (len(strides), codec.num_frames(n))
        assert codes.shape[1] * codec.hop_length % m == 0
        for k, s in enumerate(strides):
            assert torch.equal(codes[k, ::s], ref_codes[k][0]), (n, k)
            assert torch.equal(codes[k], ref_codes[k][0].repeat_interleave(s))
        assert len(torch.unique(codes[-1])) > 1  # varied codes: the test can fail
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # the noise blocks' draws: ours come from a seed-0 generator
            with torch.no_grad():
                ref_wav = ref.decode(ref_codes)
        state = torch.get_rng_state()
        wav = codec.decode(codes)
        assert torch.equal(torch.get_rng_state(), state)  # decoding leaves the global RNG
        assert wav.shape[-1] == codes.shape[1] * codec.hop_length
        torch.testing.assert_close(wav, ref_wav[0, 0], atol=ATOL, rtol=0)


def test_snac_batch_equals_files_alone(pair):
    _, codec = pair
    m = codec.pad_multiple
    xs = [_signal(n, seed=10 + n) for n in (m // 2, 2 * m + 1, m // 2)]
    batch = torch.zeros(len(xs), 1, max(len(x) for x in xs))
    for b, x in enumerate(xs):
        batch[b, 0, : len(x)] = x
    codes, lengths = codec.encode_batch(batch, torch.tensor([len(x) for x in xs]))
    for b, x in enumerate(xs):
        alone = codec.encode(x.numpy(), codec.sample_rate)
        assert torch.equal(codes[b, :, : int(lengths[b])], alone)
    wav, wl = codec.decode_batch(codes, lengths)
    for b in range(len(xs)):
        alone = codec.decode(codes[b, :, : int(lengths[b])])
        torch.testing.assert_close(wav[b, 0, : int(wl[b])], alone, atol=0, rtol=0)


def test_snac_spec_rates_and_bitrate():
    spec = registry.get("snac-24khz").build(pretrained=False, config=TINY["24khz"]).spec
    assert spec.frame_rate == pytest.approx(24000 / 8)  # hop 2 x 4
    assert spec.codebook_frame_rates == pytest.approx((750.0, 1500.0, 3000.0))
    assert spec.bitrate == pytest.approx((750 + 1500 + 3000) * 6)  # log2(64) bits
    assert registry.get("snac-24khz").frame_rate == pytest.approx(46.875)


def test_snac_missing_weights_and_bad_folder_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    with pytest.raises(AudiotokError) as e:
        audiotok.load("snac-24khz")
    assert "\n" not in str(e.value) and "snac_24khz" in str(e.value)
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "config.json").write_text("{}")
    torch.save({}, tmp_path / "f" / "pytorch_model.bin")
    with pytest.raises(AudiotokError, match="not a SNAC config.json"):
        audiotok.load("snac-24khz", weights=str(tmp_path / "f"))
    (tmp_path / "f" / "config.json").write_text(json.dumps(TINY["24khz"]))
    torch.save({"x": torch.zeros(1)}, tmp_path / "f" / "pytorch_model.bin")
    with pytest.raises(AudiotokError, match="does not fit this SNAC") as e:
        audiotok.load("snac-24khz", weights=str(tmp_path / "f"))
    assert "\n" not in str(e.value)


def test_snac_decode_refuses_partial_groups(pair):
    _, codec = pair
    codes = np.zeros((codec.num_codebooks, codec.strides[0] + 1), dtype=np.int64)
    with pytest.raises(AudiotokError, match="whole groups"):
        codec.decode(codes)


def test_snac_long_files_in_windows_give_the_whole_file_codes(pair):
    _, codec = pair
    m = codec.pad_multiple
    x = _signal(12 * m + 2 * codec.context + 5, seed=42).view(1, 1, -1)  # 4 windows
    whole, _ = codec.encode_batch(x, torch.tensor([x.shape[-1]]))
    window, context = codec.window, codec.context
    try:
        codec.window = 4 * m  # short windows, with the codec's own context
        assert x.shape[-1] > codec.window + 2 * codec.context  # really cut in windows
        long, lengths = codec.encode_long(x)
    finally:
        codec.window = window
    assert codec.context == context and int(lengths[0]) == whole.shape[-1]
    assert torch.equal(long, whole)
