"""Importing released CodeHiFiGAN checkpoints: key mapping, weight-norm folding, the pickle gate.

The test writes a checkpoint in fairseq's layout itself: ``FairseqStyleGenerator`` below
re-implements fairseq's ``CodeGenerator`` (``fairseq/models/text_to_speech/codehifigan.py``,
``hifigan.py``; ``VariancePredictor`` of ``fastspeech2.py``) with its module names and the old
``torch.nn.utils.weight_norm``, so its state dict has their keys (``dict.weight``,
``ups.0.weight_g``, ``resblocks.3.convs1.1.weight_v``, ``dur_predictor.conv1.0.weight``...).
"""

from __future__ import annotations

import argparse
import json
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from audiotok.errors import AudiotokError, UnsafeCheckpointError

CFG = {
    "resblock": "1",
    "upsample_rates": [5, 4, 4, 2, 2],
    "upsample_kernel_sizes": [11, 8, 8, 4, 4],
    "upsample_initial_channel": 64,
    "resblock_kernel_sizes": [3, 7],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
    "num_embeddings": 30,
    "embedding_dim": 8,
    "model_in_dim": 24,
    "multispkr": "from_input_file",
    "multistyle": "from_input_file",
    "num_speakers": 4,
    "num_styles": 3,
    "code_hop_size": 320,
    "sampling_rate": 16000,
    "dur_predictor_params": {
        "encoder_embed_dim": 8,
        "var_pred_hidden_dim": 8,
        "var_pred_kernel_size": 3,
        "var_pred_dropout": 0.5,
    },
}


def wn(m: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nn.utils.weight_norm(m)  # the old API: weight_g / weight_v, as released files


class ResBlock1(nn.Module):
    def __init__(self, ch, k, dil):
        super().__init__()
        pad = [(k * d - d) // 2 for d in dil]
        self.convs1 = nn.ModuleList(
            wn(nn.Conv1d(ch, ch, k, 1, dilation=d, padding=p))
            for d, p in zip(dil, pad, strict=True)
        )
        self.convs2 = nn.ModuleList(wn(nn.Conv1d(ch, ch, k, 1, padding=(k - 1) // 2)) for _ in dil)

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = c2(F.leaky_relu(c1(F.leaky_relu(x, 0.1)), 0.1)) + x
        return x


class FairseqStyleGenerator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        emb, ch0 = cfg["embedding_dim"], cfg["upsample_initial_channel"]
        self.dict = nn.Embedding(cfg["num_embeddings"], emb)
        self.spkr = nn.Embedding(cfg["num_speakers"], emb)
        self.style = nn.Embedding(cfg["num_styles"], emb)
        self.conv_pre = wn(nn.Conv1d(cfg["model_in_dim"], ch0, 7, 1, padding=3))
        self.ups, self.resblocks = nn.ModuleList(), nn.ModuleList()
        for i, (u, k) in enumerate(
            zip(cfg["upsample_rates"], cfg["upsample_kernel_sizes"], strict=True)
        ):
            self.ups.append(
                wn(nn.ConvTranspose1d(ch0 // 2**i, ch0 // 2 ** (i + 1), k, u, padding=(k - u) // 2))
            )
            for rk, rd in zip(
                cfg["resblock_kernel_sizes"], cfg["resblock_dilation_sizes"], strict=True
            ):
                self.resblocks.append(ResBlock1(ch0 // 2 ** (i + 1), rk, rd))
        self.conv_post = wn(nn.Conv1d(ch0 // 2 ** len(self.ups), 1, 7, 1, padding=3))
        p = cfg["dur_predictor_params"]
        self.dur_predictor = nn.Module()
        self.dur_predictor.conv1 = nn.Sequential(
            nn.Conv1d(emb, p["var_pred_hidden_dim"], 3, padding=1), nn.ReLU()
        )
        self.dur_predictor.ln1 = nn.LayerNorm(p["var_pred_hidden_dim"])
        self.dur_predictor.conv2 = nn.Sequential(
            nn.Conv1d(p["var_pred_hidden_dim"], p["var_pred_hidden_dim"], 3, padding=1), nn.ReLU()
        )
        self.dur_predictor.ln2 = nn.LayerNorm(p["var_pred_hidden_dim"])
        self.dur_predictor.proj = nn.Linear(p["var_pred_hidden_dim"], 1)
        with torch.no_grad():  # weights of a trained model's magnitude, not HiFi-GAN's init
            for prm in self.parameters():
                prm.normal_(0, 0.3)

    def log_durations(self, code):
        d = self.dur_predictor
        x = d.ln1(d.conv1(self.dict(code).transpose(1, 2)).transpose(1, 2))
        x = d.ln2(d.conv2(x.transpose(1, 2)).transpose(1, 2))
        return d.proj(x).squeeze(2)

    def forward(self, code, spkr, style):
        x = self.dict(code).transpose(1, 2)
        t = x.shape[-1]
        x = torch.cat(
            [
                x,
                self.spkr(spkr).transpose(1, 2).repeat(1, 1, t),
                self.style(style).transpose(1, 2).repeat(1, 1, t),
            ],
            1,
        )
        x = self.conv_pre(x)
        nk = len(self.resblocks) // len(self.ups)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, 0.1))
            x = sum(self.resblocks[i * nk + j](x) for j in range(nk)) / nk
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


@pytest.fixture
def released(tmp_path):
    torch.manual_seed(0)
    ref = FairseqStyleGenerator(CFG).eval()
    ckpt, unsafe, cfg = tmp_path / "g_00000100", tmp_path / "g_unsafe", tmp_path / "config.json"
    torch.save({"generator": ref.state_dict()}, ckpt)
    torch.save({"generator": ref.state_dict(), "args": argparse.Namespace(seed=1)}, unsafe)
    cfg.write_text(json.dumps(CFG))
    (tmp_path / "speakers.txt").write_text("ex01\nex02\nex03\nex04\n")
    (tmp_path / "styles.txt").write_text("default\nhappy\nsad\n")
    return ref, ckpt, unsafe, cfg


def test_import_maps_every_tensor_and_decodes_like_the_original(released, tmp_path):
    from safetensors.torch import load_file

    from audiotok.vocoders import load
    from audiotok.vocoders.importer import import_checkpoint

    ref, ckpt, _, cfg = released
    vc = import_checkpoint(
        ckpt,
        cfg,
        tmp_path / "voc",
        speakers_path=tmp_path / "speakers.txt",
        styles_path=tmp_path / "styles.txt",
    )
    assert (vc.num_units, vc.frame_rate, vc.hop_length) == (30, 50.0, 320)
    assert (vc.num_speakers, vc.num_styles, vc.speakers[1], vc.styles[2]) == (4, 3, "ex02", "sad")
    ours = load_file(str(tmp_path / "voc" / "model.safetensors"))
    theirs = ref.state_dict()
    assert torch.equal(ours["unit_embed.weight"], theirs["dict.weight"])
    assert torch.equal(ours["speaker_embed.weight"], theirs["spkr.weight"])
    assert torch.equal(ours["style_embed.weight"], theirs["style.weight"])
    assert torch.equal(ours["duration.conv1.weight"], theirs["dur_predictor.conv1.0.weight"])
    assert torch.equal(ours["duration.proj.bias"], theirs["dur_predictor.proj.bias"])
    assert torch.equal(
        ours["generator.resblocks.3.convs2.1.bias"], theirs["resblocks.3.convs2.1.bias"]
    )
    g, v = (
        theirs["ups.1.weight_g"],
        theirs["ups.1.weight_v"],
    )  # ConvTranspose1d: norm per input channel
    assert torch.allclose(
        ours["generator.ups.1.weight"], g * v / v.flatten(1).norm(dim=1)[:, None, None], atol=1e-7
    )
    n_theirs = len([k for k in theirs if not k.endswith("weight_v")])  # g + v fold into one
    assert len(ours) == n_theirs

    voc = load(str(tmp_path / "voc"))
    code = torch.randint(0, 30, (1, 17))
    with torch.inference_mode():
        expected = ref(code, torch.tensor([[2]]), torch.tensor([[1]]))[0, 0]
        log_d = ref.log_durations(code)
    wav, n = voc.decode(code, speaker="ex03", style="happy")
    assert int(n) == 17 * 320 and expected.abs().max() > 0.05
    assert (wav[0] - expected).abs().max() < 1e-5
    with torch.inference_mode():
        assert torch.allclose(voc.predict_log_durations(code, torch.tensor([17])), log_d, atol=1e-5)


def test_pickles_need_allow_pickle(released, tmp_path):
    from audiotok.vocoders.importer import import_checkpoint

    _, _, unsafe, cfg = released
    with pytest.raises(UnsafeCheckpointError, match="--allow-pickle"):
        import_checkpoint(unsafe, cfg, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    vc = import_checkpoint(unsafe, cfg, tmp_path / "ok", allow_pickle=True)
    assert (tmp_path / "ok" / "model.safetensors").is_file() and vc.duration_predictor


def test_cli_import_refusal_and_success(released, tmp_path):
    from audiotok.cli.app import main

    _, _, unsafe, cfg = released
    args = ["vocoder", "import", str(unsafe), "--config", str(cfg), "-o", str(tmp_path / "v")]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main([*args, "--allow-pickle"])
    assert e.value.code == 0
    with pytest.raises(SystemExit) as e:
        main(["vocoder", "info", str(tmp_path / "v")])
    assert e.value.code == 0


def test_configs_that_do_not_fit_are_errors(released, tmp_path):
    from audiotok.vocoders.importer import import_checkpoint

    _, ckpt, _, cfg = released
    for change, message in (
        ({"model_in_dim": 16}, "model_in_dim 16"),
        ({"f0": True}, "F0-conditioned"),
        ({"code_hop_size": 160}, "multiply to 320"),
    ):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**CFG, **change}))
        with pytest.raises(AudiotokError, match=message):
            import_checkpoint(ckpt, bad, tmp_path / "x")


def test_registry_vocoder_converts_once(released, tmp_path, monkeypatch):
    """A registry vocoder whose files sit in $AUDIOTOK_HOME: refused while it needs unpickling,
    converted once with allow_pickle, then loaded from safetensors."""
    from audiotok import registry, vocoders, weights

    _, _, unsafe, cfg = released
    monkeypatch.setenv("AUDIOTOK_HOME", str(tmp_path / "home"))
    entry = registry.get("code-hifigan-hubert-base-km100-lj")
    with pytest.raises(AudiotokError, match="not on this machine"):
        vocoders.load(entry.name)
    folder = weights.model_dir(entry)
    folder.mkdir(parents=True)
    (folder / entry.files[0].filename).write_bytes(unsafe.read_bytes())
    (folder / entry.files[1].filename).write_text(cfg.read_text())
    with pytest.raises(UnsafeCheckpointError, match="audiotok vocoder import"):
        vocoders.load(entry.name)
    voc = vocoders.load(entry.name, allow_pickle=True)
    assert voc.config.source == entry.source
    (folder / entry.files[0].filename).unlink()  # converted: the pickle is no longer needed
    assert vocoders.load(entry.name).config.num_units == 30
