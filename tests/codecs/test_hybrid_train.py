"""The hybrid-codec trainer: distillation that raises the teacher cosine, the split quantiser,
exact resume, the CLI from training to encode and decode, the teacher's layers, and an
inference path that never imports training code."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from audiotok.errors import AudiotokError

from audio_fixtures import speechlike

# 2 channels at 16 kHz, a 16-d latent, 1 BiLSTM layer; codebooks of 16 that follow a fast
# encoder (EMA 0.9, unused entries restarted after 2 steps)
TINY = {
    "n_filters": 2,
    "dimension": 16,
    "lstm_layers": 1,
    "kmeans_iters": 5,
    "dead_after": 2,
    "ema_decay": 0.9,
}
COMMON = {
    "teacher.name": "mfcc",
    "model.n_codebooks": 2,
    "model.codebook_size": 16,
    "model.arch": TINY,
    "data.segment_seconds": 1.0,
    "data.batch_size": 4,
    "data.num_workers": 0,
    "data.valid_fraction": 0.2,
    "device": "cpu",
    "discriminators.names": ["mpd"],
    "discriminators.width": 1 / 16,
    "schedule.tensorboard": False,
}


def train(inputs, out, steps, *, resume=False, **values):
    """train_hybrid on a config of COMMON plus dotted ``values``."""
    from audiotok.train.config import override
    from audiotok.train.hybrid import train_hybrid
    from audiotok.train.hybrid_config import HybridTrainConfig

    base = HybridTrainConfig(inputs=[str(p) for p in inputs], output=str(out))
    cfg = override(base, {**COMMON, "schedule.steps": steps, **values})
    return train_hybrid(cfg, resume=resume, progress=False)


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: two OpenMP threads on the shared 2-core machine wait on each
    other (see tests/vocoders/conftest.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """12 speech-like files of 2.0 to 3.1 s at 16 kHz."""
    root = tmp_path_factory.mktemp("hybrid") / "corpus"
    root.mkdir()
    for i in range(12):
        sf.write(root / f"u{i:02d}.wav", speechlike(2.0 + 0.1 * i, 16000, seed=400 + i), 16000)
    return root


def test_distillation_raises_the_held_out_teacher_cosine(corpus, tmp_path):
    """40 steps at lr 3e-3 with the released loss weights (mel 45/1/1/1, L1 500, commitment
    10, D-axis distillation 120; the GAN losses are left to the other tests). The teacher
    cosine (D-axis: per MFCC dimension, over each held-out file's frames, of codebook 0's
    quantised output through the projection) must rise by at least 0.15 from step 0. Measured
    0.019 -> 0.260 (seed 0) and -0.007 -> 0.256 (seed 1); the same run without distillation
    (weight 0) ends at 0.02-0.04, so the rise is the distillation's, not reconstruction's.
    Nor can a student that only learned each teacher dimension's mean pass: a constant vector's
    D-axis cosine is at most ``|mean| / rms`` per dimension (0.14 on these held-out files,
    computed below), and the final cosine must clear that by 0.05."""
    out = tmp_path / "st"
    s = train([corpus], out, 40, **{"optim.lr": 3e-3, "optim.adv_start": 40,
                                    "schedule.checkpoint_every": 40,
                                    "schedule.log_every": 20})  # fmt: skip
    first, last = s["first_eval"], s["last_eval"]
    assert (first["step"], last["step"]) == (0, 40)
    assert last["valid/teacher_cosine"] > first["valid/teacher_cosine"] + 0.15, (first, last)
    assert last["valid/distill_loss"] < first["valid/distill_loss"]
    assert last["valid/mel_distance"] < first["valid/mel_distance"]
    assert s["valid_files"] == 2 and s["train_files"] == 10 and s["frame_rate"] == 50.0

    # the figure is the exported codec's: recompute it from its codebook-0 tokens
    import audiotok
    from audiotok.train.corpus import load_index
    from audiotok.train.distill import teacher_cosine

    tok = audiotok.load(str(out))
    model = tok.model
    index = load_index(out / "data")
    _, valid = index.split(0, 0.2, 16)
    cos = []
    for i in valid:
        wav, feats = index.file(i)
        codes = tok.encode(wav.float() / 32768.0, 16000)  # [K, T']
        with torch.no_grad():
            entries = model.vq.stage(0).decode(codes[:1])  # codebook 0 alone: [1, D, T']
            student = model.transform(entries.transpose(1, 2))
        cos.append(float(teacher_cosine(student, feats.float()[None])))
    assert abs(np.mean(cos) - last["valid/teacher_cosine"]) < 1e-4
    t = [index.file(i)[1].float() for i in valid]
    constant = np.mean([float((x.mean(0).abs() / x.pow(2).mean(0).sqrt()).mean()) for x in t])
    assert last["valid/teacher_cosine"] > constant + 0.05, (constant, last)


def test_split_semantic_at_12_5_hz_with_time_resampled_teacher(corpus, tmp_path):
    """--split-semantic: codebook 0 from a semantic VQ beside the acoustic RVQ (both quantise
    the same latent, not its residual); a 12.5 Hz student reads the 100 Hz MFCC teacher
    interpolated at its frame centres."""
    import audiotok
    from audiotok.codecs.rvq import SplitResidualVQ
    from audiotok.extractors import load
    from audiotok.train.corpus import load_index
    from audiotok.train.distill import align_teacher

    out = tmp_path / "split"
    s = train([corpus], out, 2, **{
        "model.hop": 1280, "model.split_semantic": True, "schedule.checkpoint_every": 2,
        "schedule.log_every": 2, "model.n_codebooks": 3, "data.segment_seconds": 1.2,
        "loss.distill_type": "t_axis",  # the released T-axis loss crashes (docs/hybrid.md)
    })  # fmt: skip
    assert s["frame_rate"] == 12.5
    logged = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert any(math.isfinite(x.get("train/loss_distill", math.nan)) for x in logged)
    tok = audiotok.load(str(out))
    model = tok.model
    assert isinstance(model.vq, SplitResidualVQ)
    assert (model.vq.semantic.n_q, model.vq.acoustic.n_q) == (1, 2)
    assert tok.spec.params["split_semantic"] is True and tok.spec.semantic_codebooks == (0,)
    assert (tok.hop_length, tok.num_codebooks, tok.frame_rate) == (1280, 3, 12.5)

    wav = torch.from_numpy(speechlike(2.3, 16000, seed=7))
    codes = tok.encode(wav, 16000)
    assert codes.shape == (3, math.ceil(len(wav) / 1280))
    with torch.no_grad():
        latent = model.encoder(wav.view(1, 1, -1))
        assert torch.equal(codes[:1], model.vq.semantic.encode(latent)[0])
        assert torch.equal(codes[1:], model.vq.acoustic.encode(latent)[0])  # not a residual
    assert len(tok.decode(codes)) == codes.shape[1] * 1280
    with torch.no_grad():  # the training pass: all codes, codebook 0 projected to the teacher
        _, out_vq, feats = model.train()(wav[: 16 * 1280].view(1, 1, -1))
    assert out_vq.codes.shape == (1, 3, 16) and feats.shape == (1, 16, 39)

    index = load_index(out / "data")
    wav_i, cached = index.file(0)
    x = wav_i.float() / 32768.0
    mfcc, _ = load("mfcc")(x[None], torch.tensor([len(x)]))
    want = align_teacher(mfcc[0], 100.0, 12.5, len(cached))
    assert len(cached) == len(x) // 1280
    torch.testing.assert_close(cached.float(), want, atol=0.05, rtol=2e-3)  # float16 cache


def test_resume_continues_bit_for_bit(corpus, tmp_path):
    """GAN losses from step 0, random segments, dead-code restarts and both optimizers: any
    state lost at the checkpoint changes the step-4 weights."""
    opts = {"schedule.checkpoint_every": 2, "schedule.log_every": 2,
            "schedule.eval_every": 100, "optim.lr": 1e-3}  # fmt: skip
    train([corpus], tmp_path / "a", 4, **opts)
    train([corpus], tmp_path / "b", 2, **opts)
    s = train([corpus], tmp_path / "b", 4, resume=True, **opts)
    assert s["start_step"] == 2 and s["config_changes"] == []
    step4 = Path("checkpoints") / "step-00000004"
    for name in ("generator", "discriminator"):
        a = load_file(str(tmp_path / "a" / step4 / f"{name}.safetensors"))
        b = load_file(str(tmp_path / "b" / step4 / f"{name}.safetensors"))
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    g2 = load_file(str(tmp_path / "a" / "checkpoints" / "step-00000002" / "generator.safetensors"))
    g4 = load_file(str(tmp_path / "a" / step4 / "generator.safetensors"))
    key = "model.quantizer.vq.layers.0._codebook.embed"
    assert not torch.equal(g2[key], g4[key])  # the codebooks moved between the checkpoints
    with pytest.raises(AudiotokError, match="model.codebook_size: 16 -> 32"):
        train([corpus], tmp_path / "b", 6, resume=True, **{**opts, "model.codebook_size": 32})
    with pytest.raises(AudiotokError, match="already holds checkpoints"):
        train([corpus], tmp_path / "b", 6, **opts)


def test_cli_trains_encodes_and_decodes(corpus, tmp_path, capsys):
    """`audiotok hybrid train` with all three discriminators and a broken input (reported by
    path, exit code 1, the rest trained); the folder encodes with --kind hybrid into a store
    whose spec names codebook 0 semantic, and `audiotok decode` resynthesises it."""
    from audiotok import open_tokens
    from audiotok.cli.app import main

    broken = tmp_path / "broken.wav"
    broken.write_text("not audio\n" * 10)
    st = tmp_path / "st"
    argv = ["hybrid", "train", str(corpus), str(broken), "-o", str(st), "--teacher", "mfcc",
            "--steps", "2", "--checkpoint-every", "2", "--n-codebooks", "2",
            "--codebook-size", "16", "--n-filters", "2", "--dimension", "16", "--lstm-layers",
            "1", "--segment-seconds", "0.6", "--batch-size", "2", "--disc-width", "0.0625",
            "--num-workers", "0", "--device", "cpu", "--no-tensorboard", "-q", "--init",
            "default"]  # fmt: skip
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr()
    assert e.value.code == 1, err.err
    assert str(broken) in err.err and "held-out teacher cosine" in err.out
    cfg = json.loads((st / "config.json").read_text())
    assert cfg["teacher"] == "mfcc" and cfg["teacher_layer"] == ""
    assert cfg["teacher_recipe"] == {"target": "extractor", "name": "mfcc", "options": {}}
    assert cfg["teacher_sha256"] == ""  # MFCCs have no weights
    assert cfg["format"] == "audiotok-hybrid-codec" and "audiotok_builder" not in cfg
    saved = json.loads((st / "train.json").read_text())
    assert saved["discriminators"]["names"] == ["mpd", "msd", "mstft"]
    assert saved["model"]["init"] == "default" and saved["teacher"]["layer"] is None
    # the flags given, and only those, override the defaults (which stay the released ones)
    assert saved["model"]["arch"] == {"n_filters": 2, "dimension": 16, "lstm_layers": 1}
    assert saved["optim"]["lr"] == 1e-4 and saved["optim"]["betas"] == [0.9, 0.99]
    assert saved["inputs"] == [str(corpus.resolve()), str(broken.resolve())]
    # --resume alone continues with the run's own train.json; a changed LR is listed
    with pytest.raises(SystemExit) as e:
        main(["hybrid", "train", "--resume", "-o", str(st), "--steps", "3", "--lr", "1e-3", "-q"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and str(broken) in err  # the saved inputs, the broken one again
    assert "resumed with changed settings: optim.lr: 0.0001 -> 0.001" in err
    assert (st / "checkpoints" / "step-00000003" / "state.pt").is_file()

    sub = tmp_path / "sub"
    sub.mkdir()
    for name in ("u00.wav", "u01.wav"):
        (sub / name).write_bytes((corpus / name).read_bytes())
    tok = tmp_path / "tok"
    with pytest.raises(SystemExit) as e:
        main(["encode", str(sub), "-o", str(tok), "--kind", "hybrid", "--model", str(st),
              "--num-workers", "0", "--device", "cpu", "-q"])  # fmt: skip
    assert e.value.code == 0, capsys.readouterr().err
    store = open_tokens(str(tok))
    assert store.spec.kind == "hybrid" and store.spec.semantic_codebooks == (0,)
    assert store.spec.num_codebooks == 2 and store.spec.frame_rate == 50.0
    codes = store.get("u00")
    assert codes.shape == (2, math.ceil(2.0 * 16000 / 320))
    wavs = tmp_path / "wavs"
    with pytest.raises(SystemExit) as e:
        main(["decode", str(tok), "-o", str(wavs), "--device", "cpu"])
    assert e.value.code == 0, capsys.readouterr().err
    y, sr = sf.read(wavs / "u00.wav")
    assert sr == 16000 and len(y) == codes.shape[1] * 320 and np.isfinite(y).all()


def test_inference_does_not_import_training_code(corpus, tmp_path):
    """`import audiotok`, loading a trained folder, encoding and decoding: no audiotok.train,
    no trainer module in sys.modules (a fresh interpreter)."""
    st = tmp_path / "st"
    train([corpus], st, 1, **{"schedule.checkpoint_every": 1})
    code = (
        "import sys, torch, audiotok\n"
        f"tok = audiotok.load({str(st)!r})\n"
        "codes = tok.encode(torch.zeros(8000).uniform_(-0.5, 0.5), 16000)\n"
        "tok.decode(codes)\n"
        "bad = sorted(m for m in sys.modules if m.startswith('audiotok.train'))\n"
        "assert codes.shape[0] == 2 and not bad, bad\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_avg_teacher_is_the_mean_of_all_hidden_states(corpus, tmp_path):
    """--teacher-layer avg on a model folder: the mean of every hidden state including the
    transformer's input (transformers' ``hidden_states[0..L]``, as the released
    ``hubert_rep_extract.py`` averages them), stored once per file, aligned 50 Hz to 50 Hz."""
    from transformers import HubertConfig, HubertModel

    from audiotok.store.features import open_features
    from audiotok.train.corpus import load_index

    cfg = HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=[16, 16, 16],
        conv_kernel=[10, 8, 8],
        conv_stride=[5, 8, 8],
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )  # fmt: skip  (stride 320: 50 Hz like HuBERT)
    torch.manual_seed(0)
    ref = HubertModel(cfg).eval()
    ref.save_pretrained(tmp_path / "hubert")
    out = tmp_path / "st"
    s = train([corpus], out, 0, **{"teacher.name": str(tmp_path / "hubert"),
                                   "teacher.layer": "avg"})  # fmt: skip
    assert s["teacher"]["layer"] == "avg" and s["teacher"]["dim"] == 32
    assert s["teacher"]["recipe"]["options"]["layers"] == [0, 1, 2]
    assert s["teacher"]["recipe"]["options"]["combine"] == "mean"
    store = open_features(out / "teacher")
    assert store.layers == [None] and len(store) == 12  # one averaged array per file
    index = load_index(out / "data")
    wav, cached = index.file(3)
    with torch.no_grad():
        hs = ref(wav.float()[None] / 32768.0, output_hidden_states=True).hidden_states
    want = torch.stack(hs).mean(0)[0]
    n = min(len(want), len(cached))
    assert len(hs) == 3 and len(cached) == len(wav) // 320 and n >= len(cached) - 1
    torch.testing.assert_close(cached[:n].float(), want[:n], atol=2e-3, rtol=5e-3)


def test_settings_and_loss_configuration():
    from audiotok.train.distill import DistillWeights
    from audiotok.train.hybrid_config import strides_for, teacher_layers
    from audiotok.train.hybrid_task import mel_loss_for

    assert strides_for(320) == [8, 5, 4, 2] and strides_for(1280) == [8, 8, 5, 4]
    assert math.prod(strides_for(2 * 3 * 7 * 16)) == 672
    with pytest.raises(AudiotokError, match="prime factor above 8"):
        strides_for(11 * 32)
    assert teacher_layers("mfcc", None) == (None, None)
    assert teacher_layers("hubert-base-ls960", None) == ("avg", "all")
    assert teacher_layers("hubert-base-ls960", "9") == ("9", 9)
    with pytest.raises(AudiotokError, match="layer number or avg"):
        teacher_layers("hubert-base-ls960", "last")

    mel = mel_loss_for(16000, DistillWeights())  # SpeechTokenizer: 4 scales, weights 45/1/1/1
    specs = [(m.n_fft, m.hop_length, m.n_mels) for m in mel.mels]
    assert specs == [(1024, 240, 80), (512, 120, 80), (256, 60, 80), (128, 30, 80)]
    assert mel.mels[0].mel_scale == "htk" and mel.mels[0].norm == "slaney"
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 1, 8000, generator=g), torch.randn(1, 1, 8000, generator=g)
    parts = [
        float((x - y).abs().mean()) for x, y in zip(mel.log_mels(a), mel.log_mels(b), strict=True)
    ]
    assert abs(float(mel(a, b)) - (45 * parts[0] + sum(parts[1:]))) < 1e-3
