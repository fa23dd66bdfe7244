"""examples/train_unit_lm.py: a small GPT on the units of a CLI-made store, for a few seconds,
gets below the unigram entropy of the validation units."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]


def tiny_vocoder(directory):
    """A random-weight unit HiFi-GAN for mfcc-km100's units (100 units, 100 Hz, 16 kHz)."""
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.loading import save
    from audiotok.vocoders.model import Vocoder

    cfg = VocoderConfig(
        num_units=100,
        frame_rate=100.0,
        sample_rate=16000,
        embedding_dim=16,
        upsample_initial_channel=64,
        resblock_kernel_sizes=(3, 5),
        resblock_dilation_sizes=((1, 3), (1, 3)),
    )
    return save(Vocoder(cfg), directory)


@pytest.mark.slow
def test_unit_lm_beats_the_unigram_entropy(cli_store, tmp_path):
    voc = tiny_vocoder(tmp_path / "voc")
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_unit_lm.py"), str(cli_store),
         "--time-budget", "5", "--steps", "300", "--threads", "1", "--context", "32",
         "--batch", "8", "--dim", "64", "--out", str(tmp_path / "out"), "--vocoder", str(voc)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    h = float(re.search(r"unigram entropy ([\d.]+)", out).group(1))
    loss = float(re.search(r"validation loss ([\d.]+)", out).group(1))
    assert loss < h, out
    assert "below the unigram entropy: yes" in out
    samples = re.findall(r"^sample \d+: (.*)$", out, flags=re.M)
    assert len(samples) == 3
    assert all(0 <= int(u) < 100 for s in samples for u in s.split())
    for i, s in enumerate(samples):  # decoded by the vocoder: 160 samples per 100 Hz unit
        info = sf.info(tmp_path / "out" / f"sample_{i}.wav")
        assert info.samplerate == 16000 and info.frames == 160 * len(s.split())
