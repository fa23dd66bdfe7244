"""Fixtures of the vocoder tests: a small semantic token store and tiny vocoder configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
import torch

from audio_fixtures import speechlike

# tiny generator layout shared by the tests (2 MRF blocks of 2 dilations, 64 channels)
TINY = {
    "embedding_dim": 16,
    "upsample_initial_channel": 64,
    "resblock_kernel_sizes": (3, 5),
    "resblock_dilation_sizes": ((1, 3), (1, 3)),
    "duration_hidden_dim": 16,
}


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core machine two OpenMP threads wait on each other
    (measured: a tiny generator forward took 3 s with 2 threads, 0.04 s with 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def encode(corpus: Path, out: Path) -> Path:
    """``audiotok encode corpus -o out`` (default mfcc-km100, 100 Hz units) through the CLI."""
    from audiotok.cli.app import main

    with pytest.raises(SystemExit) as e:
        main(["encode", str(corpus), "-o", str(out), "--num-workers", "0", "-q"])
    assert e.value.code == 0
    return out


@pytest.fixture(scope="session")
def unit_store(tmp_path_factory) -> Path:
    """14 speech-like utterances (1.2 to 2.5 s) in two speaker folders, as mfcc-km100 units."""
    root = tmp_path_factory.mktemp("voc_corpus")
    corpus = root / "corpus"
    for i in range(14):
        spk = "spk1" if i % 2 else "spk0"
        path = corpus / spk / f"utt{i:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, speechlike(1.2 + 0.1 * i, 16000, seed=100 + i), 16000)
    return encode(corpus, root / "tokens")


def _scaled(vocoder: torch.nn.Module, factor: float = 8.0) -> torch.nn.Module:
    """Random weights x factor: HiFi-GAN's N(0, 0.01) init gives near-silent output, where any
    comparison passes; scaled weights give waveforms of order 0.1 to 1 (std ~0.03)."""
    with torch.no_grad():
        for name, p in vocoder.named_parameters():
            if name.startswith("generator.") and p.dim() > 1:
                p.mul_(factor)
    return vocoder


@pytest.fixture
def tiny_vocoder():
    """tiny_vocoder(frame_rate=100, num_units=50, **config) -> an eval-mode Vocoder with
    scaled random weights (seeded)."""
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.model import Vocoder

    def make(frame_rate: float = 100.0, num_units: int = 50, seed: int = 0, **kw):
        torch.manual_seed(seed)
        cfg = VocoderConfig(num_units=num_units, frame_rate=frame_rate, **{**TINY, **kw})
        return _scaled(Vocoder(cfg)).eval()

    return make
