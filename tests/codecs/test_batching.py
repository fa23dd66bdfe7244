"""Padded batches of different lengths give each file's codes alone (and decode alike)."""

from __future__ import annotations

import pytest
import torch

from codec_tiny import BACKENDS, noise, padded

LENGTHS = (1.05, 0.41, 0.117)  # seconds; none a multiple of any hop
# Padded path equal to float rounding only: a code may flip at a near tie of an RVQ stage.
ROUNDING = ("encodec-24khz", "dac-16khz", "dac-24khz", "dac-44khz")


@pytest.mark.parametrize("name", BACKENDS)
def test_the_cpu_batch_contract_codes_equal_codes_alone(codecs, name):
    """The contract on the CPU (items run one by one at their own length); the padded path a
    GPU runs is tested below through the unwrapped methods."""
    c = codecs[name]
    xs = [noise(s, c.sample_rate, seed=i) for i, s in enumerate(LENGTHS)]
    batch, lengths = padded(xs)
    codes, code_lengths = c.encode_batch(batch, lengths)
    for b, x in enumerate(xs):
        alone, n = c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))
        assert int(code_lengths[b]) == int(n[0])
        assert torch.equal(codes[b, :, : int(n[0])], alone[0])


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("path", ["cpu-contract", "padded"])
def test_batched_decode_equals_decode_alone(codecs, name, path):
    """Decoding a padded batch of codes gives each utterance's audio alone, through the CPU
    contract and through the padded path the GPU runs (the unwrapped method)."""
    c = codecs[name]
    decode = (
        c.decode_batch
        if path == "cpu-contract"
        else (lambda codes, lengths: type(c).decode_batch.__wrapped__(c, codes, lengths))
    )
    xs = [noise(s, c.sample_rate, seed=i) for i, s in enumerate(LENGTHS)]
    alone = [c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))[0] for x in xs]
    lengths = torch.tensor([a.shape[-1] for a in alone])
    codes = torch.zeros(len(xs), c.num_codebooks, int(lengths.max()), dtype=torch.long)
    for b, a in enumerate(alone):
        codes[b, :, : a.shape[-1]] = a[0]
    with torch.inference_mode():
        wav, wav_lengths = decode(codes, lengths)
    for b, a in enumerate(alone):
        ref, n = c.decode_batch(a, torch.tensor([a.shape[-1]]))
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


@pytest.mark.parametrize("name", BACKENDS)
def test_the_padded_batch_path_equals_codes_alone(codecs, name):
    """On a GPU one padded batch runs through the padding hooks (on the CPU, items run one by
    one): exercise that path here through the unwrapped method. It is exact for EnCodec
    48 kHz (segments of equal length, no padding); for EnCodec 24 kHz and DAC kernels chosen
    by shape round differently (~1e-7), so a code may flip at a near tie of an RVQ stage,
    which is why the CPU runs item by item."""
    c = codecs[name]
    padded_encode = type(c).encode_batch.__wrapped__
    xs = [noise(s, c.sample_rate, seed=i) for i, s in enumerate(LENGTHS)]
    batch, lengths = padded(xs)
    with torch.inference_mode():
        codes, code_lengths = padded_encode(c, batch, lengths)
    same = total = 0
    for b, x in enumerate(xs):
        alone, n = c.encode_batch(x.view(1, 1, -1), torch.tensor([len(x)]))
        assert int(code_lengths[b]) == int(n[0])
        same += int((codes[b, :, : int(n[0])] == alone[0]).sum())
        total += alone[0].numel()
    if name in ROUNDING:
        assert same >= 0.97 * total
    else:
        assert same == total


@pytest.mark.parametrize("name", ROUNDING)
def test_codecs_promise_exact_batches_only_where_they_keep_them(codecs, name):
    """Their padded path matches ~97 % of codes, so off the CPU (where items run one by one)
    they do not claim batch_exact, and the engine batches only files of equal length."""
    c = codecs[name]
    assert c.batch_exact  # on the CPU: item by item, exact
    c.device = "cuda"  # what .to("cuda") sets (no GPU needed to read the promise)
    try:
        assert not c.batch_exact
    finally:
        c.device = "cpu"
    assert all(codecs[n].batch_exact for n in BACKENDS if n not in ROUNDING)
