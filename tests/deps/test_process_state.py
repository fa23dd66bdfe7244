"""audiotok leaves the caller's process as it found it (issue 18): loading and running each
public entry point changes none of the global RNGs, torch threads, default dtype, warnings
filters, torch safe globals, environment variables, logging levels, or the matplotlib backend.

Each entry point runs twice: the first (cold) call may import third-party packages, the second
(warm) must change nothing at all. A training script that seeded torch before loading a codec
gets the same random stream afterwards as without audiotok."""

from __future__ import annotations

import logging
import os
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import audiotok

from audio_fixtures import speechlike

sys.path.insert(0, str(Path(__file__).parents[1] / "codecs"))
sys.path.insert(0, str(Path(__file__).parents[1] / "extractors"))
from codec_tiny import TINY_DAC, TINY_ENCODEC  # noqa: E402


def snapshot() -> dict:
    mpl = sys.modules.get("matplotlib")
    return {
        "torch_rng": torch.get_rng_state().clone(),
        "numpy_rng": np.random.get_state()[1].copy(),
        "python_rng": random.getstate(),
        "threads": (torch.get_num_threads(), torch.get_num_interop_threads()),
        "dtype": torch.get_default_dtype(),
        "warnings": list(warnings.filters),
        "safe_globals": list(torch.serialization.get_safe_globals()),
        "env": dict(os.environ),
        "levels": {
            name: lg.level
            for name, lg in [("", logging.getLogger()), *logging.root.manager.loggerDict.items()]
            if isinstance(lg, logging.Logger)
        },
        "mpl_backend": None if mpl is None else mpl.rcParams._get("backend"),
    }


def differences(before: dict, after: dict) -> list[str]:
    out = []
    for key, a in before.items():
        b = after[key]
        if key == "levels":  # loggers created meanwhile are new, not changed
            b = {k: v for k, v in b.items() if k in a}
        same = (
            torch.equal(a, b)
            if isinstance(a, torch.Tensor)
            else (np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b)
        )
        if not same:
            out.append(key)
    return out


def _wav(sr: int, seconds: float = 0.6) -> np.ndarray:
    return speechlike(seconds, sr, seed=3)


def _mfcc(tmp):
    tok = audiotok.load("mfcc-km100")
    tok.encode(_wav(16000), 16000)


def _codec(name, cfg):
    def run(tmp):
        tok = audiotok.load(name, pretrained=False, device="cpu", config=cfg)
        codes = tok.encode(_wav(tok.spec.sample_rate), tok.spec.sample_rate)
        tok.decode(codes)

    return run


def _hubert(tmp):
    from s3m_tiny import tiny

    ex = tiny("hubert-group")
    ex(torch.zeros(1, 16000), torch.tensor([16000]))


def _store(tmp):
    """Library encode -> open_tokens -> load_for_store -> feed datasets (the packed one with its
    compiled kernels: numba) -> exporter."""
    from audiotok.corpus import scan
    from audiotok.feed import TokenDataset, TokenIterableDataset
    from audiotok.feed.exporters import export
    from audiotok.pipeline.api import encode_corpus
    from audiotok.pipeline.local import RunOptions

    corpus = tmp / "corpus"
    if not corpus.exists():
        corpus.mkdir()
        for i in range(3):
            sf.write(corpus / f"u{i}.wav", speechlike(0.5 + 0.2 * i, 16000, seed=i), 16000)
    out = tmp / f"tok{len(list(tmp.glob('tok*')))}"
    tok = audiotok.load("mfcc-km100")
    encode_corpus(scan([str(corpus)]), tok, out, options=RunOptions(num_workers=0))
    store = audiotok.open_tokens(str(out))
    assert len(list(store)) == 3
    audiotok.load_for_store(str(out), device="cpu")
    ds = TokenDataset(str(out), pattern="flatten")
    assert len(ds[0]["input_ids"]) > 0
    packed = TokenIterableDataset(str(out), context_length=16, batch_size=2, kernels="numba")
    assert sum(int(b["attention_mask"].sum()) for b in packed) > 0
    export(str(out), tmp / f"export-{out.name}", to="nanogpt")


def _kmeans_and_metrics(tmp):
    from audiotok import kmeans
    from audiotok.metrics.recon import score_signals

    kmeans.load(str(Path(audiotok.__file__).parent / "assets" / "mfcc-km100.safetensors"))
    x = _wav(16000)
    score_signals(x, 16000, 0.9 * x, 16000, metrics=("mel_distance", "stft_distance", "si_sdr"))


def _vocoder(tmp):
    from audiotok.vocoders import load
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.loading import save
    from audiotok.vocoders.model import Vocoder

    folder = tmp / "voc"
    if not folder.exists():
        with torch.random.fork_rng(devices=[]):
            cfg = VocoderConfig(
                num_units=20,
                frame_rate=100.0,
                embedding_dim=16,
                upsample_initial_channel=64,
                resblock_kernel_sizes=(3, 5),
                resblock_dilation_sizes=((1, 3), (1, 3)),
                duration_hidden_dim=16,
            )
            save(Vocoder(cfg).eval(), folder)
    voc = load(str(folder))
    voc.decode(torch.randint(0, 20, (1, 10), generator=torch.Generator().manual_seed(0)))


def _s3tokenizer(tmp):
    from audiotok.extractors.s3tokenizer import tiny_config

    cfg = tiny_config("v2-25hz")
    tok = audiotok.load("s3tokenizer-v2-25hz", pretrained=False, device="cpu", config=cfg)
    tok.encode(_wav(16000), 16000)


def _vocos(tmp):
    import yaml

    folder = tmp / "vocos"
    if not folder.exists():
        folder.mkdir()
        cfg = {
            "feature_extractor": {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures"},
            "backbone": {
                "init_args": {
                    "input_channels": 100,
                    "dim": 16,
                    "intermediate_dim": 32,
                    "num_layers": 1,
                }
            },
            "head": {
                "class_path": "vocos.heads.ISTFTHead",
                "init_args": {"dim": 16, "n_fft": 1024, "hop_length": 256, "padding": "center"},
            },
        }
        (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
        from audiotok.codecs.vocos import architecture, parse_config

        with torch.random.fork_rng(devices=[]):
            torch.save(architecture(parse_config(cfg)).state_dict(), folder / "pytorch_model.bin")
    voc = audiotok.load_vocos(str(folder))
    voc.decode_mel(voc.mel(torch.from_numpy(_wav(24000))))


ENTRY_POINTS = {
    "mfcc-km100": _mfcc,
    "s3tokenizer": _s3tokenizer,
    "vocos": _vocos,
    "encodec-24khz": _codec("encodec-24khz", TINY_ENCODEC),
    "dac-16khz": _codec("dac-16khz", TINY_DAC),
    "hubert": _hubert,
    "store-feed-export": _store,
    "kmeans-metrics": _kmeans_and_metrics,
    "vocoder": _vocoder,
}


# transformers' import pulls torch.distributed.tensor and torch._inductor, which register torch
# safe globals and set TORCHINDUCTOR_CACHE_DIR: torch's doing, for any caller that uses
# transformers. Imported before the snapshot, as a caller's training code would have, so that
# what is measured is audiotok.
THIRD_PARTY = {"hubert": "transformers.models.hubert.modeling_hubert"}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_entry_point_leaves_process_state_alone(name, tmp_path):
    import importlib

    fn = ENTRY_POINTS[name]
    if name in THIRD_PARTY:
        importlib.import_module(THIRD_PARTY[name])
    torch.manual_seed(1234)
    np.random.seed(1234)
    random.seed(1234)
    before = snapshot()
    fn(tmp_path)  # cold: may import packages for the first time
    cold = differences(before, snapshot())
    assert not {"torch_rng", "numpy_rng", "python_rng", "threads", "dtype"} & set(cold), cold
    assert not {"safe_globals", "env", "mpl_backend"} & set(cold), cold
    warm_before = snapshot()
    fn(tmp_path)
    assert differences(warm_before, snapshot()) == []


def test_a_seeded_training_script_keeps_its_stream():
    """The reported bug: seeding, then loading a codec, gave the same stream for any seed."""
    streams = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        audiotok.load("encodec-24khz", pretrained=False, device="cpu", config=TINY_ENCODEC)
        streams.append(torch.rand(4))
    torch.manual_seed(1)
    expected = torch.rand(4)
    assert torch.equal(streams[0], expected)
    assert not torch.equal(streams[0], streams[1])


def test_the_cli_run_in_process_restores_threads_and_environment(tmp_path):
    """The CLI sets torch's threads and the decode workers' OpenMP variables for its command;
    called in-process (tests, notebooks) it undoes both when the command returns."""
    from audiotok.cli.app import run

    sf.write(tmp_path / "a.wav", speechlike(0.5, 16000, seed=1), 16000)
    threads, env = torch.get_num_threads(), dict(os.environ)
    target = 2 if threads != 2 else 3
    code = run(["encode", str(tmp_path / "a.wav"), "-o", str(tmp_path / "tok"), "-q",
                "--threads", str(target), "--num-workers", "1"])  # fmt: skip
    assert code == 0
    assert torch.get_num_threads() == threads
    assert dict(os.environ) == env
