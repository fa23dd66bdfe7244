"""Long files: windows stitched to exactly the whole-file codes; decoding in windows.

Windows are shrunk (0.5 s, context from the receptive field) so a few seconds of audio
cross many window seams; the rule is the same as with the default 10 s windows.
"""

from __future__ import annotations

import pytest
import torch

from codec_tiny import noise


def _shrink(c, seconds: float = 0.5) -> None:
    hop = c.hop_length
    c.window = int(seconds * c.sample_rate) // hop * hop
    c.decode_window_frames = c.window // hop


@pytest.mark.parametrize("name", ["dac-16khz", "dac-44khz", "encodec-48khz"])
def test_windowed_codes_equal_whole_file_codes(codecs, name):
    c = codecs[name]
    _shrink(c)
    x = noise(2.3, c.sample_rate, seed=7).view(1, 1, -1)
    whole, n = c.encode_batch(x, torch.tensor([x.shape[-1]]))
    long, m = c.encode_long(x)
    assert int(n[0]) == int(m[0]) == long.shape[-1]
    assert torch.equal(long, whole)


def test_encodec_windows_match_whole_file_up_to_float_rounding(codecs):
    """EnCodec 24k windows: the LSTM state is carried exactly, the convolutions before it see
    their whole receptive field, so the embeddings agree to float rounding (convolutions over
    different lengths round differently, ~2e-7). A frame's codes change only where its
    embedding sits within that rounding of a tie between two entries: rare with trained
    codebooks; the tiny random model here, whose frames barely differ, has a few."""
    from fractions import Fraction

    from audiotok.codecs.windows import run_streaming

    c = codecs["encodec-24khz"]
    _shrink(c)
    x = noise(2.3, c.sample_rate, seed=7).view(1, 1, -1)
    with torch.inference_mode():
        emb_whole = c.model.encoder(x)
        emb_long = run_streaming(c.model.encoder.model, x, c.window, Fraction(1, 320), 1)
    torch.testing.assert_close(emb_long, emb_whole, atol=1e-5, rtol=0)
    whole, _ = c.encode_batch(x, torch.tensor([x.shape[-1]]))
    long, _ = c.encode_long(x)
    assert long.shape == whole.shape
    differing = (long != whole).any(dim=1).float().mean().item()
    assert differing <= 0.02


@pytest.mark.parametrize("name", ["encodec-24khz", "dac-24khz"])
def test_windowed_decode_equals_whole_decode(codecs, name):
    c = codecs[name]
    _shrink(c)
    x = noise(1.6, c.sample_rate, seed=8).view(1, 1, -1)
    codes, _ = c.encode_batch(x, torch.tensor([x.shape[-1]]))
    whole, n = c.decode_batch(codes, torch.tensor([codes.shape[-1]]))
    long = c.decode_long(codes)
    assert long.shape[-1] == int(n[0])
    torch.testing.assert_close(long, whole[..., : int(n[0])], atol=1e-5, rtol=0)
    # Codec.decode routes sequences longer than the window through decode_long
    torch.testing.assert_close(c.decode(codes[0]), long[0, 0], atol=0, rtol=0)


def test_the_engine_sends_long_files_to_encode_long(codecs, tmp_path):
    import soundfile as sf

    import audiotok
    from audiotok.corpus import scan
    from audiotok.pipeline import RunOptions, encode_corpus

    c = codecs["dac-16khz"]
    _shrink(c)
    c.long_window_seconds = 1.0
    x = noise(2.5, 16000, seed=9)
    sf.write(tmp_path / "long.wav", x.numpy(), 16000, subtype="FLOAT")
    called = []
    orig = c.encode_long
    c.encode_long = lambda w: called.append(w.shape) or orig(w)
    try:
        encode_corpus(scan([tmp_path]), c, tmp_path / "tok", options=RunOptions(num_workers=0))
    finally:
        del c.encode_long
        c.long_window_seconds = 30.0
    assert called
    codes = dict(audiotok.open_tokens(str(tmp_path / "tok")))["long"]
    assert torch.equal(torch.from_numpy(codes.astype("int64")), c.encode(x, 16000))
