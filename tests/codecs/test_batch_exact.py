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
from test_mimi import TINY as MIMI
from test_snac import TINY as SNAC_TINY
from test_wavtokenizer import TINY as WAVTOKENIZER_TINY
from test_wavtokenizer import _checkpoint as wavtokenizer_checkpoint
from test_xcodec2 import _tiny as xcodec2_with_larger_weights

import audiotok
from audiotok.codecs.base import Codec

from codec_tiny import BACKENDS as CODECS
from codec_tiny import noise

DEVICE = os.environ.get("AUDIOTOK_TEST_DEVICE", "cpu")
SECONDS = (1.05, 0.41, 0.41, 0.117)  # none a multiple of any hop; two of one length

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
STUDENT = {
    "n_filters": 2,
    "dimension": 8,
    "semantic_dimension": 4,
    "lstm_layers": 1,
    "codebook_size": 64,
    "n_q": 2,
    "strides": [4, 4],
    "teacher": "mfcc",
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


def _student() -> Any:
    """A hybrid student (``audiotok hybrid train``'s model) with filled random codebooks."""
    from audiotok.codecs.speechtokenizer import SpeechTokenizerCodec
    from audiotok.codecs.speechtokenizer_model import randomize_codebooks
    from audiotok.codecs.speechtokenizer_student import new_student

    model = randomize_codebooks(new_student(STUDENT, seed=0).eval())
    return SpeechTokenizerCodec(model, "hybrid-student", STUDENT["n_q"], "")


def _s3tokenizer(variant: str) -> Callable[[], Any]:
    def build() -> Any:
        from audiotok import registry
        from audiotok.extractors import s3tokenizer as S3

        entry = registry.get(f"s3tokenizer-{variant}")
        return entry.build(pretrained=False, seed=0, config=S3.tiny_config(variant))

    return build


def _tiny(name: str, config: dict[str, Any]) -> Any:
    from audiotok import registry

    return registry.get(name).build(pretrained=False, config=config, seed=0)


def _wavtokenizer() -> Any:
    """Weights drawn larger than torch's defaults and a codebook drawn from encoder outputs
    (test_wavtokenizer's checkpoint), so codes vary between frames."""
    import tempfile
    from pathlib import Path

    from audiotok import registry

    with tempfile.TemporaryDirectory() as d:
        path = wavtokenizer_checkpoint(Path(d), 75)
        return registry.get("wavtokenizer-small-75").build(
            weights=str(path), config=WAVTOKENIZER_TINY
        )


BUILDERS: dict[str, Callable[[], Any]] = {
    **{name: _codec(name) for name in CODECS},
    "mimi": lambda: audiotok.load("mimi", pretrained=False, config=MIMI, seed=1),
    "speechtokenizer": lambda: audiotok.load(
        "speechtokenizer-hubert-avg", pretrained=False, config=SPEECHTOKENIZER
    ),
    "hybrid-student": _student,
    "semantic-mfcc": lambda: audiotok.load("mfcc-km100"),
    "semantic-hubert": _semantic_s3m,
    "s3tokenizer-v1-50hz": _s3tokenizer("v1-50hz"),
    "s3tokenizer-v2-25hz": _s3tokenizer("v2-25hz"),
    "snac-24khz": lambda: _tiny("snac-24khz", SNAC_TINY["24khz"]),
    "xcodec2": xcodec2_with_larger_weights,  # torch-default sizes give one code throughout
    "wavtokenizer-small-75": _wavtokenizer,
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
    # the two files of one length, batched without padding
    pair, _ = _padded_path(tok, xs[1:3])
    same = int((pair[:, :, : alone[1].shape[-1]] == torch.stack(alone[1:3])).sum())
    if getattr(tok, "equal_lengths_exact", True):  # what the engine's "lengths" relies on
        assert same == 2 * alone[1].numel(), (
            f"{tok.spec.name} batches files of one length on {DEVICE}, but two of them gave "
            f"{same}/{2 * alone[1].numel()} codes of the files alone"
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


@pytest.mark.parametrize("name", [*CODECS, "mimi", "speechtokenizer", "hybrid-student"])
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
    want = [4] if tok.batch_exact else [1, 1, 2] if tok.equal_lengths_exact else [1, 1, 1, 1]
    assert sorted(calls) == want
    for b, a in enumerate(alone):
        assert int(n[b]) == a.shape[-1]
        assert torch.equal(codes[b, :, : a.shape[-1]].cpu(), a)


@pytest.mark.parametrize("name", ["dac-16khz", pytest.param("dac-44khz", marks=pytest.mark.slow)])
def test_models_that_are_not_exact_batch_windows_of_one_length(name, monkeypatch):
    """A padded DAC batch is not exact, but DAC's context is finite: the engine cuts files
    into windows of one length and batches the windows of all files. The codes of a file do
    not depend on its batch, and equal its whole-file codes up to rounding at near ties."""
    from audiotok.codecs import dac
    from audiotok.codecs.windows import equal_windows
    from audiotok.pipeline.batch import TokenBatchFn

    monkeypatch.setattr(dac, "BATCH_WINDOW_SECONDS", 0.2)  # 2 s in use: tiny files here
    tok = _built(name)
    fn = TokenBatchFn(tok)
    assert not tok.batch_exact and fn.batching == "windows" and fn.batch_exact
    window, context = tok.batch_windows()
    size = window + 2 * context
    sr = tok.sample_rate
    # two files of two windows or more, one of one window and a bit, one shorter than a window
    lengths = [size + window + 1234, size + window + 1234, size + 7, size // 3]
    waves = [noise(n / sr, sr, seed=i).numpy() for i, n in enumerate(lengths)]
    calls: list[tuple[int, int]] = []
    encode = tok.encode_batch

    def counting(wav, n):
        calls.append((wav.shape[0], wav.shape[-1]))
        return encode(wav, n)

    tok.encode_batch = counting
    try:
        together = fn(waves)
        n_windows = sum(len(equal_windows(-(-len(w) // tok.hop_length) * tok.hop_length,
                                          window, context)) for w in waves[:3])  # fmt: skip
        assert calls[0] == (n_windows, size)  # every window of three files in one batch
        alone = [fn([w])[0] for w in waves]
    finally:
        del tok.encode_batch
    same = total = 0
    for w, t, a in zip(waves, together, alone, strict=True):
        assert np.array_equal(t, a)  # independent of the batch
        whole = tok.encode(w, sr).numpy()
        assert t.shape == whole.shape == (tok.num_codebooks, tok.num_frames(len(w)))
        same += int((t == whole).sum())
        total += whole.size
    assert same >= 0.99 * total, f"{same}/{total} codes equal the whole-file codes"


@pytest.mark.parametrize(
    ("name", "batching"),
    [
        ("semantic-mfcc", "padded"),
        ("dac-16khz", "windows"),
        ("encodec-24khz", "lengths"),
        ("hybrid-student", "items"),
    ],
)
def test_the_store_records_how_batches_were_cut(name, batching, make_wav, tmp_path):
    from audiotok.corpus import scan
    from audiotok.pipeline.api import encode_corpus
    from audiotok.pipeline.local import RunOptions
    from audiotok.store import record as R

    tok = _built(name)
    for i, secs in enumerate([0.3, 0.5]):
        make_wav(f"c/u{i}.wav", secs, tok.sample_rate, seed=i)
    out = tmp_path / "t"
    encode_corpus(scan([tmp_path / "c"]), tok, out, options=RunOptions(num_workers=0))
    rec = R.read(out)
    assert rec is not None and rec.run["batching"] == batching
    assert rec.num_utterances == 2


def test_equal_windows_cover_the_file_with_context_on_both_sides():
    from audiotok.codecs.windows import equal_windows

    for window, context in [(4, 2), (5, 0), (3, 7)]:
        size = window + 2 * context
        for n in range(size, size + 3 * window + 2):
            cuts = equal_windows(n, window, context)
            assert [s for _, s, _ in cuts][0] == 0 and cuts[-1][2] == n
            for (_, _, e), (_, s, _) in zip(cuts, cuts[1:], strict=False):
                assert e == s  # consecutive
            for a, s, e in cuts:
                assert a >= 0 and a + size <= n  # one length, inside the file
                assert s - a >= context or a == 0
                assert a + size - e >= context or a + size == n
    with pytest.raises(ValueError, match="fewer than one window"):
        equal_windows(7, 4, 2)
