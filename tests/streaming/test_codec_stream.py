"""Streaming EnCodec 24 kHz and Mimi: pushed chunks concatenate to the offline codes (any
chunking, one sample to several frames, random), streamed decoding to the offline audio,
B streams in one forward, short streams, reuse, and one-line refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from audiotok.errors import AudiotokError, NotStreamableError
from audiotok.streaming.layers import check_streamable

from stream_tiny import chunked, wav

MODELS = ["encodec-24khz", "mimi"]
HOP = 320, 1920


def encode_stream(enc, pieces) -> torch.Tensor:
    return torch.cat([enc.push(p) for p in pieces] + [enc.flush()], dim=-1)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(
    "sizes", [[1], [7], [320], [1920], [3 * 1920 + 5], [1000, 1, 2999, 17]], ids=str
)
def test_codes_equal_offline_for_any_chunk_size(causal, name, sizes):
    tok = causal[name]
    seconds = 0.2 if sizes == [1] else 0.63  # one sample at a time: a short file
    x = wav(seconds, seed=3)
    ref = tok.encode(x, 24000)
    got = encode_stream(tok.streaming_encoder(), chunked(x, sizes))
    assert got.shape == ref.shape and torch.equal(got, ref)


@pytest.mark.parametrize("name", MODELS)
def test_codes_equal_offline_for_random_chunkings(causal, name):
    tok = causal[name]
    enc = tok.streaming_encoder()  # one encoder, reused after each flush
    g = torch.Generator().manual_seed(0)
    for trial in range(3):
        x = wav(0.5 + 0.17 * trial, seed=trial)
        sizes = torch.randint(1, 4000, (50,), generator=g).tolist()
        got = encode_stream(enc, chunked(x, sizes))
        assert torch.equal(got, tok.encode(x, 24000)), sizes[:5]


@pytest.mark.parametrize("name", MODELS)
def test_frames_come_out_as_soon_as_complete(causal, name):
    """Past the warm-up, a frame's codes come out with the chunk that completes it."""
    tok = causal[name]
    hop = tok.hop_length
    enc = tok.streaming_encoder()
    x = wav(1.0)
    n_out = 0
    for i, piece in enumerate(chunked(x, [hop // 2])):
        n_out += enc.push(piece).shape[-1]
        received = (i + 1) * (hop // 2)
        if received >= enc.warmup:
            assert n_out == received // hop
        else:
            assert n_out == 0
    assert enc.warmup <= 7 * hop  # EnCodec: its last conv reflects 6 frames; Mimi: one frame


@pytest.mark.parametrize("name", MODELS)
def test_streams_shorter_than_the_warmup_are_encoded_offline(causal, name):
    tok = causal[name]
    enc = tok.streaming_encoder()
    for n in (1, 100, enc.warmup - 1):
        x = wav(0.1, seed=n)[:n]
        assert torch.equal(encode_stream(enc, [x]), tok.encode(x, 24000))
    assert enc.flush().shape == (tok.num_codebooks, 0)  # nothing pushed: no frames


@pytest.mark.parametrize("name", MODELS)
def test_batched_streams_each_equal_their_offline_codes(causal, name):
    tok = causal[name]
    xs = torch.stack([wav(0.9, seed=s) for s in range(3)])
    enc = tok.streaming_encoder()
    got = encode_stream(enc, chunked(xs, [777, 1234, 31]))
    assert got.shape[:2] == (3, tok.num_codebooks)
    for b in range(3):
        assert torch.equal(got[b], tok.encode(xs[b], 24000))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("frames", [1, 2, 5, 40])
def test_decoded_stream_equals_offline_decode(causal, name, frames):
    tok = causal[name]
    codes = tok.encode(wav(1.03, seed=5), 24000)
    ref = tok.decode(codes)
    dec = tok.streaming_decoder()
    got = torch.cat([dec.push(c) for c in chunked(codes, [frames])] + [dec.flush()])
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-4 * max(1.0, float(ref.abs().max())), rtol=0)


@pytest.mark.parametrize("name", MODELS)
def test_decoder_emits_a_frame_of_audio_per_frame_after_warmup(causal, name):
    tok = causal[name]
    codes = tok.encode(wav(0.8), 24000)
    dec = tok.streaming_decoder()
    for j in range(codes.shape[-1]):
        n = dec.push(codes[:, j : j + 1]).shape[-1]
        if j + 1 == dec.warmup:
            assert n == dec.warmup * tok.hop_length
        elif j + 1 > dec.warmup:
            assert n == tok.hop_length
        else:
            assert n == 0
    assert dec.flush().shape == (0,)


def test_batched_decoding(causal):
    tok = causal["mimi"]
    codes = torch.stack([tok.encode(wav(0.7, seed=s), 24000) for s in range(2)])
    dec = tok.streaming_decoder()
    got = torch.cat([dec.push(c) for c in chunked(codes, [3])] + [dec.flush()], dim=-1)
    for b in range(2):
        assert torch.allclose(got[b], tok.decode(codes[b]), atol=1e-4 * 30)


def test_chunks_must_match_the_stream_set(causal):
    enc = causal["encodec-24khz"].streaming_encoder()
    enc.push(torch.zeros(2, 100))
    with pytest.raises(AudiotokError, match="2 stream"):
        enc.push(torch.zeros(3, 100))
    with pytest.raises(AudiotokError, match="chunk is"):
        enc.push(torch.zeros(1, 1, 2, 3))
    dec = causal["encodec-24khz"].streaming_decoder()
    with pytest.raises(AudiotokError, match="codes are"):
        dec.push(torch.zeros(3, 5, dtype=torch.long))


def test_non_causal_models_say_so_in_one_line():
    sys.path.insert(0, str(Path(__file__).parents[1] / "codecs"))
    from codec_tiny import build

    for name in ("encodec-48khz", "dac-16khz"):
        tok = build(name)
        for make in (tok.streaming_encoder, tok.streaming_decoder):
            with pytest.raises(NotStreamableError, match=f"'{name}' cannot stream") as e:
                make()
            assert "\n" not in str(e.value)
    # and the claim holds layer by layer: the generic check finds their centred convolutions
    with pytest.raises(NotStreamableError, match="non-causal"):
        check_streamable(build("encodec-48khz").model.encoder)
    with pytest.raises(NotStreamableError, match="outside a known causal wrapper"):
        check_streamable(build("dac-16khz").model.encoder)
