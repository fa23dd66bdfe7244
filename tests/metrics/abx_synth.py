"""A tiny synthetic ABX corpus with exact alignments: per utterance, features [T, D] at
100 frames/s made of a phone prototype + a speaker offset + noise per frame, its phone
segments, and the triphone items of those segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
