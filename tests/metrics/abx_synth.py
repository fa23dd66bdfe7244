"""A tiny synthetic ABX corpus with exact alignments: per utterance, features [T, D] at
100 frames/s made of a phone prototype + a speaker offset + noise per frame, its phone
segments, and the triphone items of those segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from audiotok.metrics.abx_items import Item

RATE = 100.0


def corpus(
    *,
    speakers: int = 3,
    utterances: int = 3,
    phones: str = "abc",
    length: int = 14,
    dim: int = 8,
    noise: float = 1.0,
    speaker_shift: float = 0.6,
    seed: int = 0,
    posteriors: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, list[tuple[float, float, str]]], list[Item]]:
    rng = np.random.default_rng(seed)
    proto = rng.normal(size=(len(phones), dim))
    feats, aligns, items = {}, {}, []
    for s in range(speakers):
        shift = speaker_shift * rng.normal(size=dim)
        for u in range(utterances):
            uid = f"spk{s}-utt{u}"
            t, chunks, segs = 0, [], []
            for p in rng.integers(0, len(phones), size=length):
                n = int(rng.integers(3, 8))
                segs.append((t / RATE, (t + n) / RATE, phones[p]))
                chunks.append(proto[p] + shift + noise * rng.normal(size=(n, dim)))
                t += n
            x = np.concatenate(chunks)
            if posteriors:
                x = np.exp(x - x.max(axis=1, keepdims=True))
                x /= x.sum(axis=1, keepdims=True)
            feats[uid] = x.astype(np.float32)
            aligns[uid] = segs
            items += [
                Item(uid, on, off, ph, segs[k - 1][2], segs[k + 1][2], f"spk{s}")
                for k, (on, off, ph) in enumerate(segs)
                if 0 < k < len(segs) - 1
            ]
    return feats, aligns, items


def write_alignments(aligns: dict[str, list[tuple[float, float, str]]], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for uid, segs in aligns.items():
        lines = [f"{on!r}\t{off!r}\t{ph}" for on, off, ph in segs]
        (folder / f"{uid}.tsv").write_text("\n".join(lines) + "\n")
    return folder


SR = 16000
PHONES = {"a": (300.0, 0.0), "i": (700.0, 0.0), "s": (0.0, 1.0)}  # (tone Hz, noise share)


def phone_corpus(root: Path, align: Path, speakers: int = 3, utts: int = 2) -> None:
    """Each phone a 80-140 ms segment: a harmonic tone (pitch shifted per speaker) or noise;
    alignments are the exact segment times."""
    rng = np.random.default_rng(0)
    for s in range(speakers):
        for u in range(utts):
            uid = f"spk{s}/u{u}"
            wav, lines, t = [], [], 0
            for p in rng.choice(list(PHONES), size=12):
                n = int(rng.integers(80, 141)) * SR // 1000
                f0, noise = PHONES[p]
                tt = np.arange(n) / SR
                x = sum(np.sin(2 * np.pi * f0 * (1 + 0.05 * s) * k * tt) / k for k in (1, 2, 3))
                x = 0.3 * x + noise * 0.3 * rng.normal(size=n) + 0.01 * rng.normal(size=n)
                wav.append(x)
                lines.append(f"{t / SR}\t{(t + n) / SR}\t{p}\n")
                t += n
            (root / f"spk{s}").mkdir(parents=True, exist_ok=True)
            (align / f"spk{s}").mkdir(parents=True, exist_ok=True)
            sf.write(root / f"{uid}.wav", np.concatenate(wav).astype(np.float32), SR)
            (align / f"{uid}.tsv").write_text("".join(lines))
