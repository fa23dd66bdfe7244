"""VocoderConfig: upsampling derived from the rates and checked; JSON round trip."""

from __future__ import annotations

import math

import pytest

from audiotok.errors import AudiotokError
from audiotok.vocoders.config import VocoderConfig, derive_upsample_rates


@pytest.mark.parametrize(
    ("frame_rate", "rates", "kernels"),
    [
        (50, (5, 4, 4, 2, 2), (11, 8, 8, 4, 4)),  # HuBERT 50 Hz: speech-resynthesis' layout
        (25, (5, 4, 4, 4, 2), (11, 8, 8, 8, 4)),
        (100, (5, 4, 4, 2), (11, 8, 8, 4)),  # mfcc-km100
    ],
)
def test_rates_derived_from_sample_and_frame_rate(frame_rate, rates, kernels):
    c = VocoderConfig(num_units=100, sample_rate=16000, frame_rate=frame_rate)
    assert c.hop_length == 16000 // frame_rate
    assert c.upsample_rates == rates
    assert c.upsample_kernel_sizes == kernels
    assert math.prod(c.upsample_rates) == c.hop_length


def test_every_small_hop_factorises_exactly():
    for hop in range(2, 2000):
        try:
            rates = derive_upsample_rates(hop)
        except AudiotokError as e:
            assert any(p in str(e) for p in ("11", "13", "17", "19", "23")) or "prime" in str(e)
            continue
        assert math.prod(rates) == hop


def test_impossible_rates_are_errors_that_name_them():
    with pytest.raises(AudiotokError, match=r"16000/30 = 533.333"):
        VocoderConfig(num_units=10, sample_rate=16000, frame_rate=30)
    with pytest.raises(AudiotokError, match="prime factor 11"):
        VocoderConfig(num_units=10, sample_rate=11000, frame_rate=100)  # hop 110 = 2 x 5 x 11
    with pytest.raises(AudiotokError, match="multiply to 160, but .* hop of 320"):
        VocoderConfig(num_units=10, frame_rate=50, upsample_rates=(5, 4, 4, 2))
    with pytest.raises(AudiotokError, match="halves below one channel"):
        VocoderConfig(num_units=10, frame_rate=50, upsample_initial_channel=16)


def test_config_json_round_trip(tmp_path):
    c = VocoderConfig(
        num_units=100,
        frame_rate=50,
        num_speakers=2,
        speakers=["a", "b"],
        duration_predictor=True,
        tokens={"name": "mfcc-km100", "params": {"codebook_sha256": "ab" * 32}},
        codebook_sha256="ab" * 32,
    )
    c.save(tmp_path)
    back = VocoderConfig.load(tmp_path)
    assert back == c
    assert back.model_in_dim == 2 * c.embedding_dim
