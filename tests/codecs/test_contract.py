"""Every backend: codes [B, K, T'], frame counts, spec facts, bitrate, RVQ prefixes."""

from __future__ import annotations

import math

import pytest
import torch

from audiotok.codecs.base import frame_at, frame_slice

from codec_tiny import BACKENDS, build, noise

# name -> (sample rate, hop, frame rate, RVQ codebooks in the tiny build, rows in the codes)
FACTS = {
    "encodec-24khz": (24000, 320, 75.0, 8, 8),
    "encodec-48khz": (48000, 320, 150.0, 4, 5),  # + the loudness row
    "dac-16khz": (16000, 320, 50.0, 6, 6),
    "dac-24khz": (24000, 320, 75.0, 6, 6),
    "dac-44khz": (44100, 512, 44100 / 512, 6, 6),
}


@pytest.mark.parametrize("name", BACKENDS)
def test_shapes_frames_and_spec(codecs, name):
    c = codecs[name]
    sr, hop, fr, _, rows = FACTS[name]
    assert (c.sample_rate, c.hop_length, c.frame_rate, c.num_codebooks) == (sr, hop, fr, rows)
    assert c.codebook_size == 1024
    assert c.spec.bitrate == pytest.approx(rows * fr * 10)
    x = noise(0.5, sr)
    codes, lengths = c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))
    assert codes.dtype == torch.long and codes.shape == (1, rows, math.ceil(len(x) / hop))
    assert int(lengths[0]) == c.num_frames(len(x)) == codes.shape[-1]
    assert int(codes.min()) >= 0 and int(codes.max()) < 1024
    wav = c.decode(codes[0])
    assert wav.dim() == 1 and abs(len(wav) - codes.shape[-1] * hop) <= 8  # DAC 16/24k: -8


@pytest.mark.parametrize("name", ["encodec-24khz", "dac-16khz", "encodec-48khz"])
def test_fewer_codebooks_are_a_prefix_of_more(codecs, name):
    sr = FACTS[name][0]
    x = noise(0.4, sr, seed=3)
    full = codecs[name].encode(x, sr)
    small = build(name, n_codebooks=2).encode(x, sr)
    if name == "encodec-48khz":  # the loudness row stays last
        assert torch.equal(small[:2], full[:2]) and torch.equal(small[-1], full[-1])
    else:
        assert torch.equal(small, full[:2])


def test_encodec_bandwidth_sets_k_and_bitrate():
    c = build("encodec-24khz", n_codebooks=None, bandwidth=1.5)
    assert c.num_codebooks == 2 and c.spec.bitrate == 1500
    c48 = build("encodec-48khz", n_codebooks=None, bandwidth=12.0)
    assert c48.num_codebooks == 8 + 1


def test_frame_at_maps_times_to_frames():
    assert frame_at(0.0, 75) == 0
    assert frame_at(0.04, 75) == 3  # 0.04 * 75 is 2.9999999999999996 in floating point
    assert frame_at(1.0, 44100 / 512) == 86
    assert frame_at(1 / 75 - 1e-6, 75) == 0
    assert frame_slice(1.0, 2.0, 50) == slice(50, 100)
    with pytest.raises(ValueError):
        frame_at(-1, 75)


def test_frame_at_addresses_the_codes_of_that_time(codecs):
    """Changing the audio from time t on changes codes from frame frame_at(t) on (causal
    EnCodec: earlier frames cannot see it)."""
    c = codecs["encodec-24khz"]
    x = noise(1.0, 24000, seed=1)
    y = x.clone()
    t = 0.5
    y[int(t * 24000) :] = noise(0.5, 24000, seed=2)
    a, b = c.encode(x, 24000), c.encode(y, 24000)
    first_changed = int((a != b).any(dim=0).nonzero()[0])
    assert first_changed == c.frame_at(t) == 37
