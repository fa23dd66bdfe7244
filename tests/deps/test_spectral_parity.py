"""MFCC, fbank, deltas and mel spectrograms in plain torch equal torchaudio's (the reference,
in the test extra) within 1e-4, so the base install never needs torchaudio's compiled library."""

import pytest
import torch
import torchaudio
import torchaudio.compliance.kaldi as reference_kaldi
import torchaudio.functional as reference_functional

from audiotok import spectral
from audiotok.extractors import kaldi


def _speechlike(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 16000
    tone = 0.3 * torch.sin(2 * torch.pi * (180 + 40 * torch.sin(3 * t)) * t)
    return tone + 0.05 * torch.randn(n, generator=g)


@pytest.mark.parametrize("n", [400, 401, 559, 560, 16000, 23457])
def test_kaldi_mfcc_fbank_deltas_equal_torchaudio(n):
    x = _speechlike(n, n)
    ref = reference_kaldi.mfcc(x[None], sample_frequency=16000, use_energy=False)
    ours = kaldi.mfcc(x, 16000)
    assert ours.shape == ref.shape == ((n - 400) // 160 + 1, 13)
    assert torch.allclose(ours, ref, atol=1e-4, rtol=0)
    assert torch.allclose(kaldi.fbank(x, 16000), reference_kaldi.fbank(x[None]), atol=1e-4)
    d_ref = reference_functional.compute_deltas(ref.T)
    assert torch.allclose(kaldi.deltas(ours.T), d_ref, atol=1e-4)
    dd_ref = reference_functional.compute_deltas(d_ref)
    assert torch.allclose(kaldi.deltas(kaldi.deltas(ours.T)), dd_ref, atol=1e-4)


def test_mfcc_extractor_equals_the_torchaudio_recipe():
    """The shipped default's features: 13 MFCC + deltas + delta-deltas, per utterance."""
    from audiotok.extractors.mfcc import MFCCExtractor

    wavs = [_speechlike(16000, 1), _speechlike(9000, 2)]
    batch = torch.zeros(2, 16000)
    batch[1, :9000] = wavs[1]
    batch[0] = wavs[0]
    feats, frames = MFCCExtractor()(batch, torch.tensor([16000, 9000]))
    for b, w in enumerate(wavs):
        m = reference_kaldi.mfcc(w[None], use_energy=False).T
        d = reference_functional.compute_deltas(m)
        ref = torch.cat([m, d, reference_functional.compute_deltas(d)]).T
        assert int(frames[b]) == len(ref)
        assert torch.allclose(feats[b, : len(ref)], ref, atol=1e-4)


MEL_CASES = [
    dict(sample_rate=24000, n_fft=1024, hop_length=256, n_mels=80, power=1.0),
    dict(
        sample_rate=16000, n_fft=512, hop_length=128, n_mels=64, norm="slaney", mel_scale="slaney"
    ),
    dict(sample_rate=16000, n_fft=128, hop_length=32, n_mels=16, norm="slaney", power=1.0),
    dict(
        sample_rate=22050,
        n_fft=1024,
        win_length=800,
        hop_length=200,
        n_mels=80,
        f_min=30.0,
        f_max=8000.0,
        center=False,
    ),
]


@pytest.mark.parametrize("case", MEL_CASES, ids=lambda c: f"{c['n_fft']}-{c['n_mels']}")
def test_mel_spectrogram_equals_torchaudio(case):
    x = torch.stack([_speechlike(12000, 3), _speechlike(12000, 4)])
    ref = torchaudio.transforms.MelSpectrogram(**case)(x)
    ours = spectral.MelSpectrogram(**case)(x)
    assert ours.shape == ref.shape
    scale = ref.abs().max()
    assert float((ours - ref).abs().max() / scale) < 1e-5
    assert torch.allclose(ours, ref, atol=1e-4, rtol=1e-5)


def test_mel_filterbank_equals_torchaudio():
    for norm, scale in [(None, "htk"), ("slaney", "slaney"), ("slaney", "htk")]:
        ref = reference_functional.melscale_fbanks(257, 0.0, 8000.0, 40, 16000, norm, scale)
        ours = spectral.mel_filterbank(257, 0.0, 8000.0, 40, 16000, norm, scale)
        assert torch.allclose(ours, ref, atol=1e-6)
