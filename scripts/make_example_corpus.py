"""Rebuild examples/corpus: a few short utterances in several voices, rates and formats.

usage: python scripts/make_example_corpus.py [examples/corpus]
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from espeak_speech import sentence, synthesize  # noqa: E402

# (speaker folder, voice, output rate, format)
LAYOUT = [
    ("spk1", "en-us", 16000, "wav"),
    ("spk1", "en-us", 16000, "flac"),
    ("spk2", "en-gb+f3", 22050, "wav"),
    ("spk2", "en-gb+f3", 44100, "flac"),
    ("spk3", "en-029+m3", 8000, "wav"),
    ("spk3", "en-gb-scotland", 48000, "ogg"),
]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/corpus")
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        for n, (spk, voice, rate, fmt) in enumerate(LAYOUT):
            raw = Path(tmp) / f"{n}.wav"
            synthesize(sentence(rng), voice, raw, rate=rng.randint(140, 190))
            wav, sr = sf.read(raw, dtype="float32")
            if rate != sr:
                import torch
                import torchaudio.functional as AF

                wav = AF.resample(torch.from_numpy(wav), sr, rate).numpy()
            dest = out / spk / f"utt{n + 1}.{fmt}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            sf.write(
                dest, np.clip(wav, -1, 1), rate, subtype="VORBIS" if fmt == "ogg" else "PCM_16"
            )
            print(dest, f"{len(wav) / rate:.2f} s")


if __name__ == "__main__":
    main()
