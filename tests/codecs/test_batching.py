"""Padded batches of different lengths decode to each file's audio alone; without the padding
hooks they would not. (Codes: tests/codecs/test_batch_exact.py measures every backend.)"""

from __future__ import annotations

import pytest
import torch

from codec_tiny import BACKENDS, noise, padded

SECONDS = (1.05, 0.41, 0.41, 0.117)  # none a multiple of any hop; two of one length


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("path", ["decode_batch", "_decode_padded"])
def test_batched_decode_equals_decode_alone(codecs, name, path):
    """Decoding a padded batch of codes gives each file's audio alone: through the padded
    path with the padding hooks (one batch of three lengths), and through ``decode_batch``
    (on the CPU one batch per length: the two codes of one length decode together)."""
    c = codecs[name]
    decode = getattr(c, path)
    xs = [noise(s, c.sample_rate, seed=i) for i, s in enumerate(SECONDS)]
    alone = [c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))[0] for x in xs]
    lengths = torch.tensor([a.shape[-1] for a in alone])
    codes = torch.zeros(len(xs), c.num_codebooks, int(lengths.max()), dtype=torch.long)
    for b, a in enumerate(alone):
        codes[b, :, : a.shape[-1]] = a[0]
    with torch.inference_mode():
        wav, wav_lengths = decode(codes, lengths)
    for b, a in enumerate(alone):
        ref, n = c._decode_padded(a, torch.tensor([a.shape[-1]]))
        assert int(wav_lengths[b]) == int(n[0])
        torch.testing.assert_close(
            wav[b, :, : int(n[0])], ref[0, :, : int(n[0])], atol=1e-5, rtol=0
        )


def test_without_the_padding_hooks_dac_batches_differ(codecs):
    """Why as_if_alone exists: plain zero padding changes the last frames of short files."""
    c = codecs["dac-16khz"]
    xs = [noise(1.0, 16000, seed=0), noise(0.3, 16000, seed=1)]
    batch, _ = padded(xs)
    with torch.inference_mode():
        plain = c._codes(batch)
    alone = c.encode_batch(xs[1].view(1, 1, -1), torch.tensor([len(xs[1])]))[0][0]
    assert not torch.equal(plain[1, :, : alone.shape[-1]], alone)
