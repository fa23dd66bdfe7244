"""``batch_exact`` is measured, not promised: one test for every backend, on this device.

A tokenizer's ``batch_exact`` says that one padded batch of files of different lengths gives
every file exactly (bit for bit) the codes it gets alone, on the device it runs on; the
engine then builds mixed-length batches, and otherwise batches equal lengths only. Each
backend is built at a tiny size with random weights and measured here on the device of the
suite (``AUDIOTOK_TEST_DEVICE``, ``cpu`` by default; the GPU suite sets ``cuda``):

- the padded path (``Codec._encode_padded``, or ``encode_batch`` for other tokenizers) over a
  batch of four files, two of one length, against each file alone: a backend that claims
  ``batch_exact`` must match everywhere (the share of equal codes is in the failure);
- what the engine runs (``TokenBatchFn`` over ``make_batches``'s batches for the claim)
  gives every file its codes alone, whatever the claim.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import audiotok
from audiotok.codecs.base import Codec

from codec_tiny import BACKENDS as CODECS
from codec_tiny import noise

DEVICE = os.environ.get("AUDIOTOK_TEST_DEVICE", "cpu")
SECONDS = (1.05, 0.41, 0.41, 0.117)  # none a multiple of any hop; two of one length

MIMI = {
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
HUBERT = {  # tests/extractors/s3m_tiny.py's size
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [16, 16, 16],
    "conv_kernel": [10, 3, 3],
    "conv_stride": [5, 2, 2],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
}
SPEECHTOKENIZER = {"n_filters": 4, "dimension": 16, "semantic_dimension": 12, "codebook_size": 64}


def _codec(name: str) -> Callable[[], Any]:
    reg, opts = CODECS[name]
    return lambda: audiotok.load(reg, pretrained=False, **opts)


def _semantic_s3m() -> Any:
    from audiotok import extractors
    from audiotok.kmeans.codebook import Codebook
    from audiotok.semantic import SemanticTokenizer

    ex = extractors.load("hubert-base-ls960", pretrained=False, config=HUBERT, layers=[2])
    g = torch.Generator().manual_seed(0)
    cb = Codebook(torch.randn(20, 32, generator=g), {"extractor": ex.name, "layer": 2})
    return SemanticTokenizer(ex, cb)


def _s3tokenizer(variant: str) -> Callable[[], Any]:
    def build() -> Any:
        from audiotok import registry
        from audiotok.extractors import s3tokenizer as S3

        entry = registry.get(f"s3tokenizer-{variant}")
        return entry.build(pretrained=False, seed=0, config=S3.tiny_config(variant))

    return build


BUILDERS: dict[str, Callable[[], Any]] = {
    **{name: _codec(name) for name in CODECS},
    "mimi": lambda: audiotok.load("mimi", pretrained=False, config=MIMI, seed=1),
    "speechtokenizer": lambda: audiotok.load(
        "speechtokenizer-hubert-avg", pretrained=False, config=SPEECHTOKENIZER
    ),
    "semantic-mfcc": lambda: audiotok.load("mfcc-km100"),
    "semantic-hubert": _semantic_s3m,
    "s3tokenizer-v1-50hz": _s3tokenizer("v1-50hz"),
    "s3tokenizer-v2-25hz": _s3tokenizer("v2-25hz"),
}


_BUILT: dict[str, Any] = {}


def _built(name: str) -> Any:
    if DEVICE.startswith("cuda") and not torch.cuda.is_available():
        pytest.fail(f"AUDIOTOK_TEST_DEVICE={DEVICE} but torch sees no GPU")
    if name not in _BUILT:
        _BUILT[name] = BUILDERS[name]().to(DEVICE)
    return _BUILT[name]


@pytest.fixture(scope="module", params=list(BUILDERS))
def tok(request):
    return _built(request.param)


@pytest.fixture(scope="module", autouse=True)
def _release():
    yield
    _BUILT.clear()


def _files(tok) -> list[torch.Tensor]:
    return [noise(s, tok.sample_rate, seed=i % 3) for i, s in enumerate(SECONDS)]


def _padded_path(tok, xs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(x) for x in xs])
    batch = torch.zeros(len(xs), 1, int(lengths.max()))
    for b, x in enumerate(xs):
        batch[b, 0, : len(x)] = x
    run = tok._encode_padded if isinstance(tok, Codec) else tok.encode_batch
    with torch.inference_mode():
        codes, n = run(batch.to(tok.device), lengths)
    return codes.cpu(), torch.as_tensor(n).cpu()


def _alone(tok, xs: list[torch.Tensor]) -> list[torch.Tensor]:
    out = []
    for x in xs:
        codes, n = _padded_path(tok, [x])
        out.append(codes[0, :, : int(n[0])])
    return out


def test_a_backend_claims_batch_exact_only_where_this_device_keeps_it(tok):
    xs = _files(tok)
    alone = _alone(tok, xs)
    assert len({a.shape[-1] for a in alone}) == 3  # three lengths: padding is exercised
    assert any(len(set(a.flatten().tolist())) > 3 for a in alone)  # codes are not degenerate
    codes, n = _padded_path(tok, xs)
    same = total = 0
    for b, a in enumerate(alone):
        assert int(n[b]) == a.shape[-1]
        same += int((codes[b, :, : a.shape[-1]] == a).sum())
        total += a.numel()
    if tok.batch_exact:
        assert same == total, (
            f"{tok.spec.name} claims batch_exact on {DEVICE}, but a padded batch gave "
            f"{same}/{total} codes of the files alone"
        )


def test_the_engine_gives_every_file_its_codes_alone(tok):
    """``make_batches`` with the tokenizer's claim, then ``TokenBatchFn`` on each batch: the
    codes of every file equal the file alone (through the padded path with nothing padded),
    and a claim of ``batch_exact`` gives a batch of mixed lengths."""
    from audiotok.corpus import AudioItem
    from audiotok.pipeline.batch import TokenBatchFn
    from audiotok.pipeline.plan import Planned, make_batches

    xs = _files(tok)
    alone = _alone(tok, xs)
    fn = TokenBatchFn(tok)
    planned = [Planned(AudioItem(str(i), "", ""), len(x)) for i, x in enumerate(xs)]
    batches = make_batches(planned, 10 * len(xs[0]), not fn.batch_exact, fn.long_samples, 100.0)
    sizes = sorted(len(b) for b in batches)
    assert sizes == ([len(xs)] if fn.batch_exact else [1, 1, 2])
    for batch in batches:
        idx = [int(p.item.id) for p in batch]
        out = fn([xs[i].numpy() for i in idx])
        for i, codes in zip(idx, out, strict=True):
            assert np.array_equal(codes, alone[i].numpy())


@pytest.mark.parametrize("name", [*CODECS, "mimi", "speechtokenizer"])
def test_a_codec_encode_batch_never_returns_codes_a_file_would_not_get_alone(name):
    """The public ``encode_batch`` of a codec over mixed lengths: one padded batch where it is
    exact, else one batch per length (the two files of one length still run together)."""
    tok = _built(name)
    assert isinstance(tok, Codec)
    xs = _files(tok)
    alone = _alone(tok, xs)
    lengths = torch.tensor([len(x) for x in xs])
    batch = torch.zeros(len(xs), 1, int(lengths.max()))
    for b, x in enumerate(xs):
        batch[b, 0, : len(x)] = x
    calls: list[int] = []
    padded = tok._encode_padded

    def counting(wav, n):
        calls.append(wav.shape[0])
        return padded(wav, n)

    tok._encode_padded = counting
    try:
        with torch.inference_mode():
            codes, n = tok.encode_batch(batch.to(tok.device), lengths)
    finally:
        del tok._encode_padded
    assert sorted(calls) == ([4] if tok.batch_exact else [1, 1, 2])
    for b, a in enumerate(alone):
        assert int(n[b]) == a.shape[-1]
        assert torch.equal(codes[b, :, : a.shape[-1]].cpu(), a)
