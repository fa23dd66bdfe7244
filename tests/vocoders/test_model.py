"""The unit HiFi-GAN: shapes and exact lengths, padding that does not leak, conditioning."""

from __future__ import annotations

import pytest
import torch

from audiotok.errors import AudiotokError

# Batched vs alone: the generator masks padding before every convolution, so the only
# difference is float rounding of kernels run at other shapes. Measured here: <= 2e-8 on
# outputs of amplitude ~0.4; asserted: 1e-5 absolute.
TOL = 1e-5


@pytest.mark.parametrize(("frame_rate", "hop"), [(100, 160), (50, 320), (25, 640)])
def test_shapes_and_lengths(tiny_vocoder, frame_rate, hop):
    voc = tiny_vocoder(frame_rate=frame_rate)
    assert voc.hop_length == hop
    units = torch.randint(0, 50, (3, 20))
    lengths = torch.tensor([20, 13, 1])
    wav, wav_lengths = voc.decode(units, lengths)
    assert wav.shape == (3, 20 * hop)
    assert wav_lengths.tolist() == [20 * hop, 13 * hop, hop]
    assert (wav[1, 13 * hop :] == 0).all() and (wav[2, hop:] == 0).all()
    assert wav.abs().max() < 1.0 and wav[0].std() > 1e-3  # tanh output, not silence


def test_batched_decode_equals_decode_alone(tiny_vocoder):
    voc = tiny_vocoder(frame_rate=100)
    g = torch.Generator().manual_seed(1)
    lengths = torch.tensor([37, 5, 60, 22])
    units = torch.randint(0, 50, (4, 60), generator=g)
    wav, wav_lengths = voc.decode(units, lengths)
    for b in range(4):
        alone, n = voc.decode(units[b, : lengths[b]])
        assert int(n) == int(wav_lengths[b])
        assert (wav[b, : int(n)] - alone[0]).abs().max() < TOL


def test_padding_leaks_without_the_mask(tiny_vocoder):
    """What the masking buys: the plain forward of a padded batch differs near each end."""
    voc = tiny_vocoder(frame_rate=100)
    units = torch.randint(0, 50, (2, 40), generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        plain = voc(units)[:, 0]  # no lengths: padding is read as units
        alone = voc(units[1:, :25])[0, 0]
    assert (plain[1, : 25 * 160] - alone).abs().max() > 100 * TOL


def test_speaker_table_vector_and_style(tiny_vocoder):
    voc = tiny_vocoder(num_speakers=3, speakers=["x", "y", "z"], num_styles=2)
    units = torch.randint(0, 50, (2, 12))
    a, _ = voc.decode(units, speaker="x", style=0)
    b, _ = voc.decode(units, speaker=torch.tensor([0, 2]), style=[0, 0])
    assert torch.allclose(a[0], b[0], atol=TOL) and not torch.allclose(a[1], b[1], atol=1e-3)
    with pytest.raises(AudiotokError, match="pass a speaker"):
        voc.decode(units, style=0)
    with pytest.raises(AudiotokError, match="unknown speaker 'w'"):
        voc.decode(units, speaker="w", style=0)
    vec = tiny_vocoder(speaker_dim=8)
    s = torch.randn(2, 8)
    c, _ = vec.decode(units, speaker=s)
    d, _ = vec.decode(units[1:], speaker=s[1:])
    assert (c[1] - d[0]).abs().max() < TOL
    with pytest.raises(AudiotokError, match="speaker vector of 8"):
        vec.decode(units, speaker=1)


def test_units_outside_the_vocabulary_are_refused(tiny_vocoder):
    voc = tiny_vocoder(num_units=50)
    with pytest.raises(AudiotokError, match="unit 50 is outside .* 50 units"):
        voc.decode(torch.tensor([[1, 2, 50]]))
    wav, _ = voc.decode(torch.tensor([[1, 2, 99]]), torch.tensor([2]))  # padding may hold anything
    assert wav.shape == (1, 3 * 160)


def test_long_utterances_decode_in_windows_equal_to_whole(tiny_vocoder):
    from audiotok.vocoders.windows import decode_long

    voc = tiny_vocoder(frame_rate=100)
    units = torch.randint(0, 50, (230,), generator=torch.Generator().manual_seed(3))
    whole, _ = voc.decode(units)
    windowed = decode_long(voc, units, window_frames=50)
    assert windowed.shape == whole[0].shape
    assert (windowed - whole[0]).abs().max() < TOL
    assert voc.context_frames < 50  # the bound is finite and small against the window
