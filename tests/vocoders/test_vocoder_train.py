"""Training a unit vocoder from a token store: it learns, resumes exactly, writes what it says."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from audiotok.errors import AudiotokError

SMALL = {
    "embedding_dim": 16,
    "upsample_initial_channel": 32,
    "resblock_kernel_sizes": (3, 5),
    "resblock_dilation_sizes": ((1, 3), (1, 3)),
    "duration_hidden_dim": 16,
}
COMMON = {
    "data.segment_frames": 24,
    "data.batch_size": 4,
    "data.num_workers": 0,
    "data.valid_fraction": 0.15,
    "device": "cpu",
    "model": SMALL,
    "discriminators.names": ["mpd"],
    "discriminators.width": 1 / 16,
    "schedule.tensorboard": False,
}


def run(store, out, steps, *, resume=False, **values):
    """train_vocoder on a config of COMMON plus dotted ``values``."""
    from audiotok.train.config import override
    from audiotok.train.vocoder import train_vocoder
    from audiotok.train.vocoder_config import VocoderTrainConfig

    base = VocoderTrainConfig(store=str(store), output=str(out))
    cfg = override(base, {**COMMON, "schedule.steps": steps, **values})
    return train_vocoder(cfg, resume=resume, progress=False)


def test_training_lowers_held_out_mel_distance(unit_store, tmp_path):
    """60 steps (40 with the mel and duration losses only, then with the GAN losses) on 12
    training utterances. Asserted: the held-out mel distance (log10 mel L1, ``eval recon``'s
    metric) falls below half its step-0 value (measured 5.46 -> 0.43; step 0 is near silence),
    the duration loss falls, and the vocoder uses its units: decoding the held-out units in
    shuffled order scores at least 5 % worse (measured 0.43 vs 0.50). For scale: white noise
    at each reference's level scores 0.37 on these synthetic signals, so 60 tiny steps learn
    the level, the rough spectrum and the unit dependence, not fine structure."""
    import numpy as np

    from audiotok import open_tokens
    from audiotok.metrics.signal import mel_distance
    from audiotok.train.corpus import load_index
    from audiotok.vocoders import load

    out = tmp_path / "voc"
    s = run(unit_store, out, 60, **{"optim.adv_start": 40, "optim.lr": 2e-3,
                                     "schedule.checkpoint_every": 60,
                                     "schedule.log_every": 20})  # fmt: skip
    first, last = s["first_eval"], s["last_eval"]
    assert (first["step"], last["step"]) == (0, 60)
    assert last["valid/mel_distance"] < 0.5 * first["valid/mel_distance"], (first, last)
    assert last["valid/dur_loss"] < first["valid/dur_loss"]
    assert s["valid_utterances"] == 2 and s["train_utterances"] == 12
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train_lines = [x for x in lines if "train/loss_mel" in x]
    assert [x["step"] for x in train_lines] == [20, 40, 60]
    assert "train/loss_d" in train_lines[-1] and "train/loss_d" not in train_lines[0]

    voc = load(str(out))  # the exported inference vocoder: folded weights, the store's facts
    assert voc.config.codebook_sha256 and voc.config.tokens["name"] == "mfcc-km100"
    assert voc.hop_length == 160 and voc.config.duration_predictor
    store = open_tokens(str(unit_store))
    assert voc.config.tokenizer == store.recipe.to_dict()
    voc.check_tokens(store.spec, store.recipe.to_dict())  # its own store: recipe and spec agree
    index = load_index(out / "data")
    assert index.hop == 160 and index.kind == "units"
    _, valid = index.split(0, COMMON["data.valid_fraction"], 16)
    rng = np.random.default_rng(0)
    true, shuffled = [], []
    for i in valid:
        pcm, units = index.file(i)
        units, ref = units.long(), pcm.float().numpy() / 32768.0
        true.append(mel_distance(ref, voc.decode(units)[0][0].numpy(), 16000))
        perm = units[torch.from_numpy(rng.permutation(len(units)))]
        shuffled.append(mel_distance(ref, voc.decode(perm)[0][0].numpy(), 16000))
    assert abs(np.mean(true) - last["valid/mel_distance"]) < 1e-4  # the trainer's own figure
    assert np.mean(true) < 0.95 * np.mean(shuffled), (true, shuffled)


def test_resume_continues_bit_for_bit(unit_store, tmp_path):
    """Dropout in the duration predictor, random segments and both optimizers make this fail
    if any RNG, loader or optimizer state were lost at the checkpoint."""
    opts = {"schedule.checkpoint_every": 2, "schedule.log_every": 2, "schedule.eval_every": 100}
    run(unit_store, tmp_path / "a", 4, **opts)
    run(unit_store, tmp_path / "b", 2, **opts)
    s = run(unit_store, tmp_path / "b", 4, resume=True, **opts)
    assert s["start_step"] == 2 and s["config_changes"] == []
    for name in ("generator", "discriminator"):
        a, b = None, None
        a = load_file(str(tmp_path / "a" / "checkpoints" / "step-00000004" / f"{name}.safetensors"))
        b = load_file(str(tmp_path / "b" / "checkpoints" / "step-00000004" / f"{name}.safetensors"))
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    state = torch.load(
        tmp_path / "b" / "checkpoints" / "step-00000004" / "state.pt", weights_only=True
    )
    assert state["step"] == 4 and {"optim_g", "optim_d", "sched_g", "scaler", "rng"} <= state.keys()
    sa = torch.load(
        tmp_path / "a" / "checkpoints" / "step-00000004" / "state.pt", weights_only=True
    )
    assert torch.equal(sa["rng"]["cpu"], state["rng"]["cpu"])
    gen = load_file(str(tmp_path / "a" / "checkpoints" / "step-00000002" / "generator.safetensors"))
    assert not torch.equal(
        gen["vocoder.unit_embed.weight"], a_last(tmp_path)["vocoder.unit_embed.weight"]
    )


def a_last(tmp_path):
    return load_file(
        str(tmp_path / "a" / "checkpoints" / "step-00000004" / "generator.safetensors")
    )


def test_resume_refuses_other_settings_and_fresh_runs_refuse_old_checkpoints(unit_store, tmp_path):
    opts = {"schedule.checkpoint_every": 1, "schedule.log_every": 1}
    run(unit_store, tmp_path / "v", 1, **opts)
    with pytest.raises(AudiotokError, match="data.segment_frames: 24 -> 32"):
        run(unit_store, tmp_path / "v", 2, resume=True, **{**opts, "data.segment_frames": 32})
    with pytest.raises(AudiotokError, match="already holds checkpoints"):
        run(unit_store, tmp_path / "v", 2, **opts)
    with pytest.raises(AudiotokError, match="no train.json"):
        run(unit_store, tmp_path / "new", 2, resume=True, **opts)
    # what does not change results is allowed and listed: more steps, another learning rate
    s = run(unit_store, tmp_path / "v", 2, resume=True, **{**opts, "optim.lr": 1e-3})
    assert s["start_step"] == 1 and s["config_changes"] == ["optim.lr: 0.0002 -> 0.001"]
    saved = json.loads((tmp_path / "v" / "train.json").read_text())
    assert saved["optim"]["lr"] == 1e-3 and saved["schedule"]["steps"] == 2


def test_cli_train_with_speakers(unit_store, tmp_path, capsys):
    from audiotok.cli.app import main
    from audiotok.vocoders import load

    out = tmp_path / "voc"
    argv = [
        "vocoder",
        "train",
        str(unit_store),
        "-o",
        str(out),
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--segment-frames",
        "20",
        "--channels",
        "32",
        "--embedding-dim",
        "8",
        "--discriminators",
        "mpd",
        "--disc-width",
        "0.0625",
        "--speakers",
        "from-path-prefix",
        "--checkpoint-every",
        "2",
        "--num-workers",
        "0",
        "--no-tensorboard",
        "-q",
        "--device",
        "cpu",
    ]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0, capsys.readouterr().err
    assert "held-out mel distance" in capsys.readouterr().out
    voc = load(str(out))
    assert voc.config.speakers == ["spk0", "spk1"] and voc.config.num_speakers == 2
    wav, n = voc.decode(torch.tensor([[1, 2, 3]]), speaker="spk1")
    assert int(n) == 3 * 160


def test_cli_config_file_flags_override_and_resume(unit_store, tmp_path, capsys):
    """--config FILE gives the run (store included); the flags given override it, the flags
    left at their defaults do not; --resume alone reads OUTPUT/train.json, lists what changed
    and refuses what would change results; a bad file is one line naming it and the key."""
    from audiotok.cli.app import main

    cfg = tmp_path / "voc.json"
    cfg.write_text(json.dumps({
        "store": str(unit_store), "device": "cpu",
        "data": {"segment_frames": 20, "batch_size": 2, "num_workers": 0},
        "model": {"upsample_initial_channel": 16, "embedding_dim": 8},
        "discriminators": {"names": ["mpd"], "width": 0.0625},
        "schedule": {"steps": 1, "checkpoint_every": 1, "tensorboard": False},
    }))  # fmt: skip
    out = tmp_path / "voc"

    def cli(*argv):
        with pytest.raises(SystemExit) as e:
            main(["vocoder", "train", *argv, "-q"])
        return e.value.code, capsys.readouterr()

    code, io = cli("--config", str(cfg), "-o", str(out), "--batch-size", "4")
    assert code == 0, io.err
    saved = json.loads((out / "train.json").read_text())
    assert saved["data"]["batch_size"] == 4 and saved["data"]["segment_frames"] == 20
    assert saved["discriminators"]["names"] == ["mpd"] and saved["schedule"]["steps"] == 1
    assert saved["store"] == str(unit_store.resolve()) and saved["optim"]["lr"] == 2e-4

    code, io = cli("--resume", "-o", str(out), "--steps", "2", "--lr", "0.001")
    assert code == 0, io.err
    assert "resumed with changed settings: optim.lr: 0.0002 -> 0.001" in io.err
    assert (out / "checkpoints" / "step-00000002" / "state.pt").is_file()

    code, io = cli("--resume", "-o", str(out), "--steps", "3", "--segment-frames", "24")
    assert code == 2 and "data.segment_frames: 20 -> 24" in io.err
    assert len(io.err.strip().splitlines()) == 1

    cfg.write_text(json.dumps({"data": {"batch_size": "two"}}))
    code, io = cli("--config", str(cfg), str(unit_store), "-o", str(tmp_path / "x"))
    assert code in (1, 2) and len(io.err.strip().splitlines()) == 1
    assert str(cfg) in io.err and "'data.batch_size' must be an integer" in io.err
    assert not (tmp_path / "x").exists()


def test_corpus_index_skips_a_broken_file_by_name(tmp_path):
    """The vocoder's index goes through the pipeline's decode: a row whose audio is broken is
    reported with its path and left out; the others pair their units with their audio."""
    import numpy as np
    import soundfile as sf

    from audiotok import audio, open_tokens
    from audiotok.cli.app import main
    from audiotok.train.vocoder_data import unit_index

    from audio_fixtures import speechlike

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        sf.write(corpus / f"u{i}.wav", speechlike(0.5 + 0.2 * i, 16000, seed=i), 16000)
    with pytest.raises(SystemExit) as e:
        main(["encode", str(corpus), "-o", str(tmp_path / "tok"), "--num-workers", "0", "-q"])
    assert e.value.code == 0
    store = open_tokens(str(tmp_path / "tok"))
    (corpus / "u1.wav").write_text("not audio\n" * 20)
    failed = []
    index = unit_index(store, tmp_path / "data", 16000, 160,
                       on_error=lambda item, why: failed.append((item.path, why)))  # fmt: skip
    assert [p for p, _ in failed] == [str(corpus / "u1.wav")] and index.ids == ["u0", "u2"]
    for i, uid in enumerate(index.ids):
        pcm, units = index.file(i)
        codes = np.asarray(store.get(uid)).reshape(-1)
        wav = audio.read(str(corpus / f"{uid}.wav"), 16000)
        n = min(len(codes), len(wav) // 160)
        assert len(units) == n and np.array_equal(units.numpy(), codes[:n])
        want = np.clip(np.round(wav[: n * 160] * 32768), -32768, 32767).astype(np.int16)
        assert np.array_equal(pcm.numpy(), want)
