"""XCodec2: audiotok's network against the ``xcodec2`` package, and its checkpoint loader.

A reduced configuration (w2v-BERT of 16 layers of 32 channels, a 4-filter acoustic encoder,
a 2-block decoder of 32 channels), random weights; the FSQ keeps its 65,536 codes.
"""

from __future__ import annotations

import functools

import pytest
import torch

from audiotok import registry
from audiotok.codecs.xcodec2 import SEMANTIC_PREFIX
from audiotok.errors import AudiotokError, MissingWeightsError

W2V = {
    "hidden_size": 32,
    "num_hidden_layers": 16,
    "num_attention_heads": 2,
    "intermediate_size": 48,
    "output_hidden_size": 32,
    "conv_depthwise_kernel_size": 5,
}
TINY = dict(
    ngf=4,
    acoustic_dim=32,
    semantic_dim=32,
    decoder_dim=32,
    decoder_depth=2,
    decoder_heads=2,
    rope_dim=16,
    w2v=W2V,
)


@functools.cache
def _tiny(seed: int = 0):
    codec = registry.get("xcodec2").build(pretrained=False, config=TINY, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # larger weights than torch's defaults: codes vary between frames
        for p in codec.model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return codec


def _noise(n: int, seed: int = 0) -> torch.Tensor:
    return 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(seed))


def _reference(codec):
    """The package's XCodec2Model around the same weights (its __init__ downloads w2v-BERT:
    the parts are built at the reduced sizes and set by hand)."""
    pytest.importorskip("xcodec2")  # the [test] extra installs it (--no-deps: see pyproject)
    from torch import nn
    from transformers import SeamlessM4TFeatureExtractor
    from xcodec2.modeling_xcodec2 import XCodec2Model
    from xcodec2.vq.codec_decoder_vocos import CodecDecoderVocos
    from xcodec2.vq.codec_encoder import CodecEncoder_Transformer
    from xcodec2.vq.module import SemanticEncoder

    ref = XCodec2Model.__new__(XCodec2Model)
    nn.Module.__init__(ref)
    ref.semantic_model = codec.semantic
    ref.SemanticEncoder_module = SemanticEncoder(32, 32, 32)
    ref.CodecEnc = CodecEncoder_Transformer(ngf=4, hidden_dim=32)
    ref.generator = CodecDecoderVocos(hidden_dim=32, depth=2, heads=2, pos_meb_dim=16, vq_dim=64)
    ref.fc_prior = nn.Linear(64, 64)
    ref.fc_post_a = nn.Linear(64, 32)
    ref.feature_extractor = SeamlessM4TFeatureExtractor(padding_value=1.0)
    ref.load_state_dict(codec.model.state_dict(), strict=False)
    return ref.eval()


@pytest.mark.slow
def test_codes_and_audio_equal_the_xcodec2_package(monkeypatch):
    codec = _tiny()
    ref = _reference(codec)
    # same key names: the package's state dict loads into audiotok's network as it is
    ref_state = {k: v for k, v in ref.state_dict().items() if not k.startswith(SEMANTIC_PREFIX)}
    assert set(ref_state) == set(codec.model.state_dict())
    monkeypatch.setattr(type(ref), "device", property(lambda self: torch.device("cpu")))
    monkeypatch.setattr(codec.semantic.config, "output_hidden_states", True)  # as it loads it
    for n in (16000, 16000 + 123):  # a whole number of frames (one more frame) and not
        x = _noise(n, seed=n)
        want = ref.encode_code(x[None])[0, 0].long()
        got = codec.encode(x, 16000)
        assert got.shape == want.shape == (n // 320 + 1,)
        assert torch.equal(got, want)
        assert got.unique().numel() > 5
        audio = codec.decode(got)
        ref_audio = ref.decode_code(want[None, None])[0, 0]
        assert audio.shape == ref_audio.shape == ((n // 320 + 1) * 320,)
        torch.testing.assert_close(audio, ref_audio, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_spec_frames_and_batches():
    codec = _tiny()
    assert (codec.num_codebooks, codec.codebook_size, codec.frame_rate) == (1, 65536, 50.0)
    assert [codec.num_frames(n) for n in (319, 320, 16000, 16319)] == [1, 2, 51, 51]
    xs = [_noise(4000, 1), _noise(6500, 2)]
    batch = torch.zeros(2, 1, 6500)
    batch[0, 0, :4000], batch[1, 0] = xs
    codes, lengths = codec.encode_batch(batch, torch.tensor([4000, 6500]))
    assert lengths.tolist() == [13, 21]
    for b, x in enumerate(xs):
        assert torch.equal(codes[b, 0, : lengths[b]], codec.encode(x, 16000))
    wav, n = codec.decode_batch(codes, lengths)
    assert n.tolist() == [13 * 320, 21 * 320]
    torch.testing.assert_close(wav[0, 0, : n[0]], codec.decode(codes[0, 0, :13]))


def test_fsq_codes_cover_the_65536_entries():
    fsq = _tiny().model.generator.quantizer
    every = torch.arange(65536)
    levels = fsq.decode(every)  # project_out of each entry's levels
    assert levels.shape == (65536, 64)
    # encode(decode) is not the identity (projections), but the digit arithmetic is:
    digits = (every[:, None] // fsq.basis) % fsq.levels
    assert torch.equal((digits * fsq.basis).sum(-1), every)
    assert int(fsq.basis[-1]) * 4 == 65536


@pytest.mark.slow
def test_loads_a_checkpoint_by_the_released_key_names(tmp_path):
    from safetensors.torch import save_file

    codec = _tiny()
    state = {k: v.contiguous() for k, v in codec.model.state_dict().items()}
    # an older layout: weight norm as weight_g / weight_v
    key = "CodecEnc.conv_blocks.0.parametrizations.weight.original0"
    state["CodecEnc.conv_blocks.0.weight_g"] = state.pop(key)
    state["CodecEnc.conv_blocks.0.weight_v"] = state.pop(key[:-1] + "1")
    for k, v in codec.semantic.state_dict().items():
        state[SEMANTIC_PREFIX + k] = v.contiguous()
    # the release holds all 24 w2v-BERT layers: those past layer 16 are not needed
    state[SEMANTIC_PREFIX + "encoder.layers.16.ffn1.intermediate_dense.weight"] = torch.ones(2)
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    loaded = registry.get("xcodec2").build(weights=str(path), config=TINY)
    x = _noise(8000, 3)
    assert torch.equal(loaded.encode(x, 16000), codec.encode(x, 16000))
    assert loaded.weights_path == str(path.resolve())
    assert len(loaded.spec.weights_sha256) == 64

    del state["fc_prior.weight"]
    save_file(state, str(path))
    with pytest.raises(AudiotokError, match=r"does not fit XCodec2 .*fc_prior\.weight"):
        registry.get("xcodec2").build(weights=str(path), config=TINY)


def test_offline_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as e:
        registry.get("xcodec2").build(config=TINY)
    msg = str(e.value)
    assert "\n" not in msg and "model.safetensors" in msg and "HKUSTAudio/xcodec2" in msg


def test_unknown_config_field_is_refused():
    with pytest.raises(AudiotokError, match="unknown XCodec2 config field"):
        registry.get("xcodec2").build(pretrained=False, config={"n_layers": 3})


@pytest.mark.slow
def test_a_hugging_face_folder_loads_by_path(tmp_path):
    """The repository's layout: config.json (BigCodecConfig, model_type "xcodec", with the
    auto_map that names its code: never run) and model.safetensors."""
    import json

    from safetensors.torch import save_file

    import audiotok

    codec = _tiny()
    state = {k: v.contiguous() for k, v in codec.model.state_dict().items()}
    for k, v in codec.semantic.state_dict().items():
        state[SEMANTIC_PREFIX + k] = v.contiguous()
    save_file(state, str(tmp_path / "model.safetensors"))
    cfg = {"model_type": "xcodec", "semantic_hidden_size": 1024, "use_vocos": True,
           "auto_map": {"AutoModel": "modeling_xcodec2.XCodec2Model"}}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    tok = audiotok.load(str(tmp_path), config=TINY)
    x = _noise(4000, 5)
    assert torch.equal(tok.encode(x, 16000), codec.encode(x, 16000))
    assert tok.recipe.name == str(tmp_path.resolve())
