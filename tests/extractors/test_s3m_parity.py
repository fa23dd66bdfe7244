"""Features through audiotok equal transformers' and torchaudio's for the same weights."""

from __future__ import annotations

import pytest
import torch

from audiotok import extractors

from s3m_tiny import FAMILIES, tiny


def _ref_hidden(model, x, normalize):
    if normalize:
        x = torch.nn.functional.layer_norm(x, x.shape[-1:])
    with torch.no_grad():
        return model(x, output_hidden_states=True)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_hf_folder_round_trip_equals_hidden_states(family, tmp_path):
    import transformers

    src = tiny(family, layers="all")
    src.model.config.num_hidden_layers = 2
    # save a fresh, untruncated model with the same weights (save_pretrained as a user would)
    from audiotok.extractors import hf_models

    ref = hf_models.random_model(src.model.config, seed=0)
    ref.save_pretrained(tmp_path / "m")
    ex = extractors.load(str(tmp_path / "m"), layers=[0, 1, 2])
    assert ex.weights_sha256 and len(ex.weights_sha256) == 64
    assert isinstance(ref, transformers.PreTrainedModel)
    torch.manual_seed(0)
    wav = torch.randn(1, 3001)
    feats, fl = ex.extract_layers(wav, torch.tensor([3001]))
    out = _ref_hidden(ref, wav, ex.normalize)
    assert fl.tolist() == [out.hidden_states[0].shape[1]] == [ex.num_frames(3001)]
    for n in (0, 1, 2):  # layer n is transformers 5's hidden_states[n], the last one included
        torch.testing.assert_close(feats[n][0], out.hidden_states[n][0], atol=2e-5, rtol=1e-4)
    if ex.pre_ln:  # the option: the normed model output of pre-LN models
        normed = extractors.load(str(tmp_path / "m"), layers=[2], final_layer_norm=True)
        f2, _ = normed.extract_layers(wav, torch.tensor([3001]))
        torch.testing.assert_close(f2[2][0], out.last_hidden_state[0], atol=2e-5, rtol=1e-4)
        assert (f2[2][0] - feats[2][0]).abs().max() > 1e-2


def test_pre_ln_last_layer_norm_is_an_option():
    a = tiny("hubert-layer-preln", layers=[2], final_layer_norm=True)
    b = tiny("hubert-layer-preln", layers=[2])  # the default: fairseq's output_layer=L
    wav = torch.randn(1, 2000)
    fa, _ = a(wav, torch.tensor([2000]))
    fb, _ = b(wav, torch.tensor([2000]))
    ln = a.model.encoder.layer_norm
    torch.testing.assert_close(fa, ln(fb))
    assert (fa - fb).abs().max() > 1e-2


@pytest.mark.parametrize("family", ["hubert-group", "wavlm-layer-preln"])
def test_torchaudio_state_dict_equals_torchaudio_extract_features(family, tmp_path):
    from torchaudio.models import wav2vec2_model, wavlm_model
    from torchaudio.models.wav2vec2.utils.import_huggingface import _get_config, _get_config_wavlm

    from audiotok.extractors import hf_models

    from s3m_tiny import TINY

    name, extra = FAMILIES[family]
    cfg_over = {**TINY, **extra}
    arch = hf_models.make_config(
        {**extractors.load(name, pretrained=False, config=cfg_over).model.config.to_dict()}
    )
    is_wavlm = arch.model_type == "wavlm"
    params = (_get_config_wavlm if is_wavlm else _get_config)(arch)
    torch.manual_seed(3)
    ta = (wavlm_model if is_wavlm else wav2vec2_model)(**params, aux_num_out=None).eval()
    with torch.no_grad():  # random (non-default) norms so a mix-up of LN weights shows
        for p in ta.parameters():
            p.add_(0.05 * torch.randn_like(p))
    torch.save(ta.state_dict(), tmp_path / "ta.pth")
    ex = extractors.load(
        name,
        weights=str(tmp_path / "ta.pth"),
        config=cfg_over,
        layers=[1, 2],
        final_layer_norm=False,
        normalize_waveform=False,
    )
    wav = torch.randn(2, 2600)
    lengths = torch.tensor([2600, 2100])
    feats, fl = ex.extract_layers(wav, lengths)
    for b in range(2):  # torchaudio one file at a time (its group norm sees no padding then)
        with torch.no_grad():
            outs, ln = ta.extract_features(wav[b : b + 1, : lengths[b]])
        assert int(fl[b]) == outs[0].shape[1]
        for n in (1, 2):
            torch.testing.assert_close(feats[n][b, : fl[b]], outs[n - 1][0], atol=2e-5, rtol=1e-4)


def test_wrong_architecture_for_weights_is_explained(tmp_path):
    from audiotok.errors import AudiotokError

    src = tiny("hubert-group")
    torch.save(src.model.state_dict(), tmp_path / "w.bin")
    with pytest.raises(AudiotokError, match="does not match the architecture"):
        extractors.load("hubert-base-ls960", weights=str(tmp_path / "w.bin"))
