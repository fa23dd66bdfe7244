"""Mimi through transformers' MimiModel: weights loaded from a saved folder give the reference
codes and audio for every codebook prefix; batches, long files, errors."""

from __future__ import annotations

import math
import sys

import pytest
import torch

import audiotok
from audiotok.errors import AudiotokError, MissingWeightsError

from audio_fixtures import speechlike

# MimiConfig shrunk (kyutai/mimi: hidden 512, 64 filters, 8 layers of 8 heads, 2048 entries,
# 256-d codebooks, sliding window 250); 32 codebooks kept for the 8..32 prefixes
TINY = {
    "hidden_size": 16,
    "num_filters": 4,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "intermediate_size": 32,
    "codebook_size": 64,
    "codebook_dim": 16,
    "vector_quantization_hidden_dimension": 16,
    "upsample_groups": 16,
    "sliding_window": 10,
}


def wav(seconds: float, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(speechlike(seconds, 24000, seed=seed))


@pytest.fixture(scope="module")
def tiny():
    return audiotok.load("mimi", pretrained=False, config=TINY, seed=1)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A random MimiModel saved in the Hugging Face layout (config.json + model.safetensors)."""
    from audiotok.codecs.mimi import architecture

    model = architecture(TINY, seed=2)
    folder = tmp_path_factory.mktemp("mimi")
    model.save_pretrained(folder)
    return model, folder


def test_codes_and_audio_equal_mimimodel_for_each_prefix(saved):
    ref, folder = saved
    x = wav(1.1, seed=5)
    full = audiotok.load("mimi", weights=str(folder / "model.safetensors"), n_codebooks=32)
    all_codes = full.encode(x, 24000)
    assert all_codes.shape == (32, math.ceil(len(x) / 1920))
    for k in (8, 16, 32):
        codec = full if k == 32 else audiotok.load("mimi", weights=str(folder), n_codebooks=k)
        with torch.inference_mode():
            want = ref.encode(x.view(1, 1, -1), num_quantizers=k).audio_codes[0]
        codes = codec.encode(x, 24000)
        assert torch.equal(codes, want) and torch.equal(codes, all_codes[:k])
        assert codec.num_codebooks == k and codec.spec.bitrate == k * 12.5 * 6
    with torch.inference_mode():
        want_wav = ref.decode(all_codes[None, :8]).audio_values[0, 0]
    torch.testing.assert_close(
        codec.decode(all_codes),
        ref.decode(all_codes[None]).audio_values[0, 0],
        atol=1e-5,
        rtol=1e-5,
    )
    eight = audiotok.load("mimi", weights=str(folder), n_codebooks=8)
    torch.testing.assert_close(eight.decode(all_codes[:8]), want_wav, atol=1e-5, rtol=1e-5)
    assert full.spec.weights_sha256 and full.weights_path.endswith("model.safetensors")


def test_spec_and_frames(tiny):
    c = tiny
    assert (c.sample_rate, c.hop_length, c.frame_rate) == (24000, 1920, 12.5)
    assert c.num_codebooks == 8 and c.codebook_size == 64
    assert c.spec.kind == "hybrid" and c.spec.semantic_codebooks == (0,) == c.semantic_codebooks
    assert c.spec.bitrate == 8 * 12.5 * 6
    x = wav(0.9)
    codes, n = c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))
    assert codes.shape == (1, 8, 12) and int(n[0]) == c.num_frames(len(x)) == 12
    assert len(c.decode(codes[0])) == 12 * 1920


def test_batches_give_codes_alone_though_a_padded_batch_would_not(tiny):
    """Why batch_exact is False: a file alone completes its last stride with its own zero
    (and replicate) padding at every layer; inside a padded batch it sees activations of the
    padding there, and its last frame changes. encode_batch runs each length on its own."""
    c = tiny
    xs = [wav(1.23, seed=1), wav(0.77, seed=2), wav(0.77, seed=3)]
    batch = torch.zeros(3, 1, len(xs[0]))
    for b, x in enumerate(xs):
        batch[b, 0, : len(x)] = x
    lengths = torch.tensor([len(x) for x in xs])
    codes, n = c.encode_batch(batch, lengths)
    with torch.inference_mode():
        naive = c._codes(batch)
    for b, x in enumerate(xs):
        alone, m = c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))
        assert int(n[b]) == int(m[0]) == math.ceil(len(x) / 1920)
        assert torch.equal(codes[b, :, : int(m[0])], alone[0])
        if b > 0:
            k = int(m[0])
            assert torch.equal(naive[b, :, : k - 1], alone[0, :, :-1])  # causal: the rest holds
            assert not torch.equal(naive[b, :, k - 1], alone[0, :, -1])
    # decoding a padded batch is exact: the causal decoder never reads past a file's end
    wav2, wl = c.decode_batch(codes, n)
    for b in range(3):
        alone, _ = c.decode_batch(codes[b : b + 1, :, : int(n[b])], n[b : b + 1])
        assert int(wl[b]) == int(n[b]) * 1920
        torch.testing.assert_close(wav2[b, :, : int(wl[b])], alone[0], atol=1e-4, rtol=1e-5)


def test_long_files_in_windows_equal_the_whole_file(tiny):
    c = tiny
    saved_window = (c.window, c.decode_window_frames)
    c.window, c.decode_window_frames = 5 * 1920, 5  # context: 2 layers x 9 steps + convs
    try:
        x = wav(2.5, seed=4).view(1, 1, -1)
        whole, n = c.encode_batch(x, torch.tensor([x.shape[-1]]))
        long, m = c.encode_long(x)
        audio, _ = c.decode_batch(whole, n)
        audio_long = c.decode_long(whole)
    finally:
        c.window, c.decode_window_frames = saved_window
    assert int(n[0]) == int(m[0]) == 32
    assert torch.equal(long, whole)
    torch.testing.assert_close(audio_long, audio, atol=1e-4, rtol=1e-5)


def test_missing_weights_and_missing_transformers(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    pinned = "kyutai/mimi/resolve/89091b3e[0-9a-f]*/model.safetensors"
    with pytest.raises(MissingWeightsError, match=pinned):
        audiotok.load("mimi")
    (tmp_path / "x.safetensors").write_bytes(b"")
    with pytest.raises(AudiotokError, match="Hugging Face layout"):
        audiotok.load("mimi", weights=str(tmp_path / "x.safetensors"))
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(AudiotokError, match=r"audiotok\[s3m\]"):
        audiotok.load("mimi", pretrained=False, config=TINY)
