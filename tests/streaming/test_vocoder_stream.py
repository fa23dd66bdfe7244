"""Unit vocoders decode chunks with a lookahead: at the receptive radius the stream equals the
offline decode; with less it differs (the vocoder is not causal); latency follows the lookahead."""

from __future__ import annotations

import pytest
import torch

from audiotok.vocoders.config import VocoderConfig
from audiotok.vocoders.model import Vocoder

TINY = {
    "embedding_dim": 16,
    "upsample_initial_channel": 32,
    "resblock_kernel_sizes": (3, 5),
    "resblock_dilation_sizes": ((1, 3), (1, 3)),
}


@pytest.fixture(scope="module")
def vocoder():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        voc = Vocoder(VocoderConfig(num_units=50, frame_rate=50.0, **TINY)).eval()
        # HiFi-GAN's N(0, 0.01) init leaves the output near its biases; torch's default
        # init lets the units (and so the lookahead) matter
        for m in voc.generator.modules():
            if isinstance(m, torch.nn.Conv1d | torch.nn.ConvTranspose1d):
                m.reset_parameters()
    return voc


def stream(voc, units, chunk, lookahead):
    s = voc.streaming_decoder(lookahead=lookahead)
    pieces = [s.push(units[i : i + chunk]) for i in range(0, len(units), chunk)]
    return torch.cat([*pieces, s.flush()]), s


def test_lookahead_at_the_receptive_radius_equals_offline(vocoder):
    units = torch.randint(0, 50, (60,), generator=torch.Generator().manual_seed(1))
    ref = vocoder.decode(units[None])[0][0]
    for chunk in (1, 7, 60):
        got, s = stream(vocoder, units, chunk, None)
        assert s.lookahead == s.context > 0
        assert got.shape == ref.shape
        assert torch.allclose(got, ref, atol=1e-5 * float(ref.abs().max()))


def test_a_shorter_lookahead_differs_but_keeps_every_sample(vocoder):
    units = torch.randint(0, 50, (60,), generator=torch.Generator().manual_seed(2))
    ref = vocoder.decode(units[None])[0][0]
    exact, _ = stream(vocoder, units, 4, None)
    got, s = stream(vocoder, units, 4, 0)
    assert got.shape == ref.shape and s.latency_ms == 20.0
    assert (got - ref).abs().max() > 10 * (exact - ref).abs().max() + 1e-6 * ref.abs().max()


def test_audio_comes_out_lookahead_frames_behind(vocoder):
    s = vocoder.streaming_decoder(lookahead=3)
    out = [len(s.push(torch.tensor([5]))) for _ in range(10)]
    assert out == [0, 0, 0] + [vocoder.hop_length] * 7
    assert len(s.flush()) == 3 * vocoder.hop_length
