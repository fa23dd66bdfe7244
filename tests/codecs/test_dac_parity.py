"""DAC parity: our network (audiotok.codecs.dac_model) and transformers' ``DacModel``, with the
same random weights, give equal codes (up to float near ties, see
``codec_reference.assert_dac_codes_match``) and decoded audio equal within 1e-4, for the
three published configurations (strides, hops) at tiny widths.

The reference's weights are written by the test as a release file (audiotools' format, the
descript-audio-codec key names; see codec_reference.py) and loaded through
``audiotok.load(..., weights=PATH)``, so the loader is proven on that layout too.
"""

from __future__ import annotations

import pytest
import torch

import audiotok

from codec_reference import assert_dac_codes_match, dac_reference, save_dac_release
from codec_tiny import padded

ATOL = 1e-4
SECONDS = (0.117, 0.41)  # neither a multiple of any hop; plus 20 hops exactly, below


def signal(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(n, generator=g)


@pytest.fixture(scope="module", params=["16khz", "24khz", "44khz"])
def pair(request, tmp_path_factory):
    ref, kwargs = dac_reference(request.param, seed=7)
    path = tmp_path_factory.mktemp("dac") / f"weights_{request.param}.pth"
    save_dac_release(ref, kwargs, path)
    codec = audiotok.load(f"dac-{request.param}", weights=str(path))
    assert codec.num_codebooks == kwargs["n_codebooks"]
    return ref, codec


def _lengths(codec) -> list[int]:
    return [int(s * codec.sample_rate) for s in SECONDS] + [20 * codec.hop_length]


def _reference(ref, codec, x: torch.Tensor):
    """The reference's codes and audio for x, zero-padded to a multiple of the hop first
    (as ``DAC.preprocess`` does)."""
    hop = codec.hop_length
    xp = torch.nn.functional.pad(x, (0, -len(x) % hop)).view(1, 1, -1)
    with torch.no_grad():
        codes = ref.encode(xp).audio_codes
        wav = ref.decode(audio_codes=codes).audio_values
    return codes[0], wav[0]


def test_dac_codes_and_audio_equal_transformers(pair):
    ref, codec = pair
    for i, n in enumerate(_lengths(codec)):
        x = signal(n, seed=i)
        ref_codes, ref_wav = _reference(ref, codec, x)
        assert_dac_codes_match(codec, x, ref_codes)
        assert len(set(ref_codes[0].tolist())) > 1  # varied codes, not one entry everywhere
        wav = codec.decode(ref_codes)
        assert len(ref_wav) - 8 <= len(wav) <= len(ref_wav)  # 16/24 kHz: hop * T' - 8
        torch.testing.assert_close(wav, ref_wav[: len(wav)], atol=ATOL, rtol=0)


def test_dac_batch_with_lengths_equals_transformers_file_by_file(pair):
    ref, codec = pair
    xs = [signal(n, seed=10 + i) for i, n in enumerate(_lengths(codec))]
    batch, lengths = padded(xs)
    codes, code_lengths = codec.encode_batch(batch, lengths)
    refs = [_reference(ref, codec, x) for x in xs]
    ref_batch = torch.zeros_like(codes)
    for b, (x, (ref_codes, _)) in enumerate(zip(xs, refs, strict=True)):
        t = int(code_lengths[b])
        assert_dac_codes_match(codec, x, ref_codes, ours=codes[b, :, :t])
        ref_batch[b, :, :t] = ref_codes
    wav, wav_lengths = codec.decode_batch(ref_batch, code_lengths)
    for b, (_, ref_wav) in enumerate(refs):
        m = int(wav_lengths[b])
        assert len(ref_wav) - 8 <= m <= len(ref_wav)
        torch.testing.assert_close(wav[b, 0, :m], ref_wav[:m], atol=ATOL, rtol=0)


def test_a_release_file_for_another_configuration_is_one_clear_error(tmp_path):
    from audiotok.errors import AudiotokError

    ref, kwargs = dac_reference("16khz", seed=1)
    path = tmp_path / "weights_16khz.pth"
    save_dac_release(ref, {**kwargs, "n_codebooks": 4}, path)  # kwargs that do not fit
    with pytest.raises(AudiotokError, match="does not fit this DAC"):
        audiotok.load("dac-16khz", weights=str(path))
