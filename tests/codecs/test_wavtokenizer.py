"""WavTokenizer: audiotok's network against transformers' ``WavTokenizerModel`` (random
weights, reduced sizes), through a ``.ckpt`` written with the release's key names.

The release's names (jishengpeng/WavTokenizer: ``feature_extractor.encodec.encoder.model.N.
conv.conv.weight_g``, ``...quantizer.vq.layers.0._codebook.embed``, ``backbone.*``, ``head.*``)
differ from transformers' in the encoder and quantizer prefixes, the weight-norm names and the
head's ``out`` (transformers: ``linear``); :func:`release_names` maps one onto the other.
"""

from __future__ import annotations

import functools
import re

import pytest
import torch

from audiotok import registry
from audiotok.errors import AudiotokError, MissingWeightsError, UnsafeCheckpointError

TINY = dict(n_filters=4, dimension=16, bins=64, dim=32, intermediate_dim=48, num_layers=2)


def release_names(hf_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers' WavTokenizerModel state dict -> the released checkpoint's names."""
    out = {}
    for key, value in hf_state.items():
        k = key.replace("encoder_model.quantizer.codebook.", "QUANT")
        k = k.replace("QUANT", "feature_extractor.encodec.quantizer.vq.layers.0._codebook.")
        k = k.replace("encoder_model.encoder.layers.", "feature_extractor.encodec.encoder.model.")
        k = k.replace(".parametrizations.weight.original0", ".weight_g")
        k = k.replace(".parametrizations.weight.original1", ".weight_v")
        k = re.sub(r"\.conv\.(weight_g|weight_v|bias)$", r".conv.conv.\1", k)
        out[k.replace("head.linear.", "head.out.")] = value
    # the release's ISTFT keeps its Hann window as a buffer (transformers computes it)
    n_fft = out["head.out.weight"].shape[0] - 2
    out["head.istft.window"] = torch.hann_window(n_fft)
    return out


@functools.cache
def _reference(frame_rate: int, seed: int = 0):
    from transformers import WavTokenizerConfig, WavTokenizerModel

    cfg = WavTokenizerConfig(
        upsampling_ratios=[6, 5, 5, 4] if frame_rate == 40 else [8, 5, 4, 2],
        num_filters=4,
        hidden_size=16,
        codebook_dim=16,
        codebook_size=64,
        decoder_hidden_size=32,
        decoder_intermediate_size=48,
        decoder_num_layers=2,
    )
    torch.manual_seed(seed)
    ref = WavTokenizerModel(cfg).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # every weight drawn (norms and the codebook included)
        for name, p in ref.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.02 if "gamma" in name else 0.3))
        book = ref.encoder_model.quantizer.codebook.embed
        emb = ref.encoder_model.encoder(0.1 * torch.randn(1, 1, 24000, generator=g))[0].T
        book.copy_(emb[torch.randint(0, emb.shape[0], (book.shape[0],), generator=g)])
    return ref


def _checkpoint(tmp_path, frame_rate: int):
    ref = _reference(frame_rate)
    state = release_names(ref.state_dict())
    # what else a Lightning checkpoint holds: the EnCodec decoder, discriminators, epoch...
    state["feature_extractor.encodec.decoder.model.0.conv.conv.bias"] = torch.zeros(3)
    state["multiperioddisc.discriminators.0.convs.0.bias"] = torch.zeros(3)
    path = tmp_path / f"wt{frame_rate}.ckpt"
    torch.save({"state_dict": state, "epoch": 3, "global_step": 10}, path)
    return path


def _noise(n: int, seed: int) -> torch.Tensor:
    return 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.slow
@pytest.mark.parametrize("frame_rate", [40, 75])
def test_codes_and_audio_equal_transformers_wavtokenizer(tmp_path, frame_rate):
    ref = _reference(frame_rate)
    name = "wavtokenizer-small-40" if frame_rate == 40 else "wavtokenizer-small-75"
    codec = registry.get(name).build(weights=str(_checkpoint(tmp_path, frame_rate)), config=TINY)
    assert codec.frame_rate == frame_rate and codec.codebook_size == 64
    hop = 24000 // frame_rate
    for n in (24000, 24000 + 123):
        x = _noise(n, n)
        with torch.no_grad():
            want = ref.encode(x.view(1, 1, -1)).audio_codes[0, 0]
            ref_audio = ref.decode(want.view(1, 1, -1)).audio_values.reshape(-1)
        got = codec.encode(x, 24000)
        assert got.shape == want.shape == (-(-n // hop),)
        assert torch.equal(got, want) and got.unique().numel() > 5
        audio = codec.decode(got)
        assert audio.shape == ref_audio.shape == (got.shape[0] * hop,)
        torch.testing.assert_close(audio, ref_audio, atol=1e-4, rtol=1e-4)


@pytest.mark.slow
def test_batches_equal_items_alone(tmp_path):
    codec = registry.get("wavtokenizer-small-75").build(
        weights=str(_checkpoint(tmp_path, 75)), config=TINY
    )
    xs = [_noise(5000, 1), _noise(8000, 2)]
    batch = torch.zeros(2, 1, 8000)
    batch[0, 0, :5000], batch[1, 0] = xs
    codes, lengths = codec.encode_batch(batch, torch.tensor([5000, 8000]))
    assert lengths.tolist() == [16, 25]
    for b, x in enumerate(xs):
        assert torch.equal(codes[b, 0, : lengths[b]], codec.encode(x, 24000))
    wav, n = codec.decode_batch(codes, lengths)
    assert n.tolist() == [16 * 320, 25 * 320]
    torch.testing.assert_close(wav[1, 0], codec.decode(codes[1, 0]))


def test_bad_checkpoints_get_one_line(tmp_path):
    entry = registry.get("wavtokenizer-small-75")
    (tmp_path / "a.ckpt").write_bytes(b"not a checkpoint")
    torch.save({"epoch": 1}, tmp_path / "b.ckpt")
    torch.save({"state_dict": {"backbone.embed.weight": torch.zeros(2)}}, tmp_path / "c.ckpt")
    for name, err, match in (
        ("a.ckpt", UnsafeCheckpointError, "weights_only"),
        ("b.ckpt", AudiotokError, "no 'state_dict'"),
        ("c.ckpt", AudiotokError, "does not fit this WavTokenizer"),
    ):
        with pytest.raises(err, match=match) as e:
            entry.build(weights=str(tmp_path / name), config=TINY)
        assert "\n" not in str(e.value)


def test_offline_error_and_variants(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as e:
        registry.get("wavtokenizer-large-unify-40").build()
    msg = str(e.value)
    assert "\n" not in msg and "wavtokenizer_large_unify_600_24k.ckpt" in msg
    rates = {e.name: e.frame_rate for e in registry.entries() if e.name.startswith("wavtoken")}
    assert sorted(rates.values()) == [40.0, 40.0, 75.0, 75.0, 75.0, 75.0]
    random = registry.get("wavtokenizer-small-40").build(pretrained=False, config=TINY)
    assert (random.frame_rate, random.hop_length, random.num_frames(601)) == (40.0, 600, 2)


class Opaque:  # a non-tensor object: weights_only loading refuses it
    pass


def test_a_pickled_checkpoint_goes_through_the_one_converter(tmp_path):
    from audiotok.codecs.pickle_convert import convert, main

    entry = registry.get("wavtokenizer-small-75")
    clean = _checkpoint(tmp_path, 75)
    ckpt = torch.load(clean, weights_only=True)
    path = tmp_path / "pickled.ckpt"
    torch.save({**ckpt, "hyper_parameters": Opaque()}, path)  # what Lightning often saves
    with pytest.raises(UnsafeCheckpointError) as refused:
        entry.build(weights=str(path), config=TINY)
    cmd = f"python -m audiotok.codecs.pickle_convert wavtokenizer {path} --allow-pickle"
    assert cmd in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(UnsafeCheckpointError, match="--allow-pickle"):
        convert(path, "wavtokenizer")  # no opt-in
    assert main(cmd.split()[3:]) == 0  # the command the refusal names
    converted = entry.build(weights=str(path.with_suffix(".safetensors")), config=TINY)
    same = entry.build(weights=str(clean), config=TINY)
    x = _noise(6000, 4)
    assert torch.equal(converted.encode(x, 24000), same.encode(x, 24000))
    sd, sd2 = converted.model.state_dict(), same.model.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd)
