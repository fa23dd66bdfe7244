"""S3Tokenizer: audiotok's plain-torch model against the reference package (random weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import audiotok
from audiotok import registry
from audiotok.errors import AudiotokError
from audiotok.extractors import s3tokenizer as S3

ref = pytest.importorskip("s3tokenizer")  # the [test] extra installs it

REF_NAMES = {
    "v1-50hz": "speech_tokenizer_v1",
    "v1-25hz": "speech_tokenizer_v1_25hz",
    "v2-25hz": "speech_tokenizer_v2_25hz",
}


def _reference(variant: str, state: dict):
    cfg = S3.tiny_config(variant)
    sizes = {
        "n_mels": 128,
        "n_audio_state": cfg["n_state"],
        "n_audio_head": cfg["n_head"],
        "n_audio_layer": cfg["n_layer"],
    }
    if variant.startswith("v1"):
        from s3tokenizer.model import ModelConfig, S3Tokenizer

        model = S3Tokenizer(REF_NAMES[variant], ModelConfig(**sizes, n_codebook_size=64))
    else:
        from s3tokenizer.model_v2 import ModelConfig as Config2
        from s3tokenizer.model_v2 import S3TokenizerV2

        model = S3TokenizerV2(REF_NAMES[variant], Config2(**sizes))
    model.load_state_dict(state, strict=True)
    return model.eval()


def _ours(variant: str, seed: int = 0):
    entry = registry.get(f"s3tokenizer-{variant}")
    return entry.build(pretrained=False, seed=seed, config=S3.tiny_config(variant))


def _wavs(lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    t = max(lengths)
    wav = torch.zeros(len(lengths), 1, t)
    for b, n in enumerate(lengths):
        tone = torch.sin(torch.arange(n) * (0.03 + 0.02 * b))
        wav[b, 0, :n] = 0.3 * tone + 0.05 * torch.randn(n, generator=g)
    return wav, torch.tensor(lengths)


def test_mel_filters_and_log_mel_match_the_package():
    wav, _ = _wavs([8000])
    ours = S3.log_mel(wav[0, 0])
    theirs = ref.log_mel_spectrogram(wav[0, 0], n_mels=128)
    assert ours.shape == theirs.shape == (128, 50)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("variant", ["v1-50hz", "v1-25hz", "v2-25hz"])
def test_codes_equal_the_reference_batched_with_lengths(variant):
    tok = _ours(variant)
    theirs = _reference(variant, tok.model.state_dict())
    wav, lengths = _wavs([16000, 11200, 4000])
    codes, n = tok.encode_batch(wav, lengths)
    mels = [ref.log_mel_spectrogram(wav[b, 0, : int(lengths[b])]) for b in range(3)]
    mel, mel_len = ref.padding(mels)
    want, want_len = theirs.quantize(mel, mel_len)
    assert n.tolist() == want_len.tolist()
    assert n.tolist() == [tok.num_frames(int(x)) for x in lengths]
    for b in range(3):
        assert torch.equal(codes[b, 0, : n[b]], want[b, : want_len[b]].long())
    assert codes.max() < tok.codebook_size
    assert len(set(codes[0, 0, : n[0]].tolist())) > 1  # a real, varied code stream


@pytest.mark.parametrize("variant", ["v1-50hz", "v2-25hz"])
def test_long_file_windows_as_the_package(variant):
    """31 s beside 2 s in one batch: the long file in two windows (0-30 s, 26-31 s) joined by
    the package's rule (2 s of tokens dropped each side of the overlap)."""
    tok = _ours(variant, seed=3)
    theirs = _reference(variant, tok.model.state_dict())
    wav, lengths = _wavs([31 * 16000, 2 * 16000])
    codes, n = tok.encode_batch(wav, lengths)
    mels = [ref.log_mel_spectrogram(wav[b, 0, : int(lengths[b])]) for b in range(2)]
    mel, mel_len = ref.padding(mels)
    want, want_len = theirs.quantize(mel, mel_len)
    assert n.tolist() == want_len.tolist() == [tok.num_frames(int(x)) for x in lengths]
    for b in range(2):
        assert torch.equal(codes[b, 0, : n[b]], want[b, : want_len[b]].long())
    tok.max_windows = 1  # one window through the encoder at a time: the same codes
    assert torch.equal(tok.encode_batch(wav, lengths)[0], codes)


def test_checkpoint_with_the_package_key_names_loads(tmp_path):
    tok = _ours("v1-25hz", seed=5)
    path = tmp_path / "speech_tokenizer_v1.pt"
    torch.save(_reference("v1-25hz", tok.model.state_dict()).state_dict(), path)
    entry = registry.get("s3tokenizer-v1-25hz")
    loaded = entry.build(weights=str(path), config=S3.tiny_config("v1-25hz"))
    x = np.sin(np.arange(8000) * 0.05).astype(np.float32)
    assert torch.equal(loaded.encode(x, 16000), tok.encode(x, 16000))
    assert loaded.weights_path == str(path.resolve())
    other = registry.get("s3tokenizer-v2-25hz")
    with pytest.raises(AudiotokError, match="not an S3Tokenizer v2-25hz checkpoint"):
        other.build(weights=str(path), config=S3.tiny_config("v2-25hz"))
    onnx = tmp_path / "speech_tokenizer_v1.onnx"
    onnx.write_bytes(b"x")
    with pytest.raises(AudiotokError, match="onnx2torch"):
        entry.build(weights=str(onnx))


def test_decode_is_one_clear_line():
    tok = _ours("v1-50hz")
    with pytest.raises(AudiotokError, match="S3Tokenizer tokens have no decoder in audiotok"):
        tok.decode(torch.zeros(5, dtype=torch.long))


def test_registry_entries():
    for name, rate, size in [
        ("s3tokenizer-v1-50hz", 50.0, 4096),
        ("s3tokenizer-v1-25hz", 25.0, 4096),
        ("s3tokenizer-v2-25hz", 25.0, 6561),
    ]:
        e = registry.get(name)
        assert (e.kind, e.frame_rate, e.sample_rate, e.encode_only) == (
            "semantic",
            rate,
            16000,
            True,
        )
        assert e.files[0].sha256 and e.license.startswith("Apache-2.0")
        tok = _ours(name.removeprefix("s3tokenizer-"))
        assert tok.frame_rate == rate
        assert tok.codebook_size == (64 if size == 4096 else 6561)  # tiny v1 codebook


@pytest.mark.slow
def test_a_store_of_s3_tokens_decodes_to_one_clear_line(tmp_path, small_corpus, capsys):
    from audiotok.cli.app import main
    from audiotok.corpus import scan
    from audiotok.pipeline.api import encode_corpus
    from audiotok.pipeline.local import RunOptions

    tok = _ours("v2-25hz")
    store = tmp_path / "tok"
    encode_corpus(scan([str(small_corpus)]), tok, store, options=RunOptions(num_workers=0))
    rows = list(audiotok.open_tokens(str(store)).rows())
    assert rows and all(
        len(r["codes"][0]) == tok.num_frames(round(r["duration_s"] * 16000)) for r in rows
    )
    for extra in ([], ["--decoder", "vocos"]):
        with pytest.raises(SystemExit) as e:
            main(["decode", str(store), "-o", str(tmp_path / "w"), *extra])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: s3tokenizer-v2-25hz: {S3.NO_DECODER}"]
