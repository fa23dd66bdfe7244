"""Train the shipped default codebook audiotok/assets/mfcc-km100.safetensors.

Audio: speech we synthesise with espeak-ng from our own random sentences (12 voices in
English, German, French, Spanish and Italian; random rate and pitch), so the codebook can be
redistributed with the package. Features: audiotok's MFCC extractor (39-d, 100 Hz).
K-means: FAISS, k = 100, seeded. Rerun:

    apt-get install espeak-ng && python scripts/train_mfcc_km100.py

Results differ slightly across espeak-ng versions (the synthesised audio does).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from espeak_speech import VOICES, sentence, synthesize  # noqa: E402

from audiotok import audio  # noqa: E402
from audiotok.extractors.mfcc import MFCCExtractor  # noqa: E402
from audiotok.kmeans.train import train_faiss  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-o", "--output", default="audiotok/assets/mfcc-km100.safetensors")
    ap.add_argument("--utterances", type=int, default=600)
    ap.add_argument("-k", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ex = MFCCExtractor()
    feats, seconds = [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(a.utterances):
            path = Path(tmp) / f"{n}.wav"
            synthesize(
                sentence(rng),
                VOICES[n % len(VOICES)],
                path,
                rate=rng.randint(120, 200),
                pitch=rng.randint(20, 80),
            )
            wav = torch.from_numpy(audio.read(str(path), ex.sample_rate))
            f, lens = ex(wav.unsqueeze(0), torch.tensor([len(wav)]))
            feats.append(f[0, : int(lens[0])].numpy())
            seconds += len(wav) / ex.sample_rate
    x = np.concatenate(feats)
    print(f"{len(feats)} utterances, {seconds / 60:.1f} min, {x.shape[0]} frames")
    cb = train_faiss(
        x,
        a.k,
        niter=100,
        nredo=3,
        seed=a.seed,
        meta={
            "extractor": "mfcc",
            "layer": None,
            "extractor_sha256": "",
            "training_data": f"espeak-ng synthesised speech, {len(feats)} utterances, "
            f"{seconds / 60:.1f} min (scripts/train_mfcc_km100.py)",
        },
    )
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    cb.save(a.output)
    print(
        f"wrote {a.output}: inertia {cb.meta['inertia']:.4g}, "
        f"smallest cluster {min(cb.meta['usage'])} frames"
    )


if __name__ == "__main__":
    main()
