"""How exact are batches and long-file windows of the hybrid codecs? (issue 11)

Random weights of the released sizes (no weights can be downloaded here; ``--smoke``: narrower
layers), speech-like audio.
For each way of cutting the work, prints the share of codes equal to the file alone / whole,
and the largest absolute difference of the encoder's embeddings.

    python benchmarks/hybrid_bounds.py [--mimi] [--long-seconds 35]

SpeechTokenizer: padded batch through the padding hooks + packed BiLSTM (the GPU path),
a naive padded batch (what plain batching would give), 10 s windows of a long file.
Mimi (--mimi, needs transformers): a naive padded batch (why ``batch_exact`` is False),
windows with the receptive-field context (shrunk window, the real context).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import results  # noqa: E402

import audiotok  # noqa: E402

from audio_fixtures import speechlike  # noqa: E402


def wav(seconds: float, sr: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(speechlike(seconds, sr, seed=seed))


def batch_of(xs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(x) for x in xs])
    b = torch.zeros(len(xs), 1, int(lengths.max()))
    for i, x in enumerate(xs):
        b[i, 0, : len(x)] = x
    return b, lengths


ROWS: list[dict] = []


def row(name: str, same: int, total: int, diff: float | None, secs: float) -> None:
    ROWS.append({"line": name, "equal": same / total, "max_abs_emb": diff, "seconds": secs})
    d = "-" if diff is None else f"{diff:.2e}"
    print(f"{name:<52} {same / total:9.5f} ({same}/{total})  {d:>9}  {secs:6.1f} s")


LENGTHS = (4.03, 3.11, 2.27)  # seconds of the three files of a padded batch


# --smoke: the released architecture (strides, BiLSTM, codebooks) at a sixteenth of its widths
SMOKE_WIDTHS = {"n_filters": 8, "dimension": 64, "semantic_dimension": 48, "codebook_size": 128}


def speechtokenizer(long_seconds: float, scale: float = 1.0, config: dict | None = None) -> None:
    c: Any = audiotok.load("speechtokenizer-hubert-avg", pretrained=False, config=config)
    xs = [wav(s * scale, 16000, i) for i, s in enumerate(LENGTHS)]
    b, lengths = batch_of(xs)
    with torch.inference_mode():
        t = time.time()
        alone = [c.embed(x.view(1, 1, -1), [len(x)])[0] for x in xs]
        codes_alone = [c._quantize(e) for e in alone]
        emb, frames = c.embed(b, lengths)  # hooks + packing (the GPU path)
        naive = c.model.encoder(b)
        secs = time.time() - t
        cuts = (("padded batch, hooks + packed BiLSTM", emb), ("naive padded batch", naive))
        for name, e in cuts:
            same = total = 0
            diff = 0.0
            for i, (ea, ca) in enumerate(zip(alone, codes_alone, strict=True)):
                n = ea.shape[-1]
                diff = max(diff, float((e[i, :, :n] - ea[0]).abs().max()))
                same += int((c._quantize(e[i : i + 1, :, :n]) == ca).sum())
                total += ca.numel()
            row(f"SpeechTokenizer {name} vs alone", same, total, diff, secs)
        if scale < 1:  # toy run: windows of 1 s, so the 3 s file is cut
            c.window = c.hop_length * round(16000 / c.hop_length)
        x = wav(long_seconds, 16000, 9).view(1, 1, -1)
        t = time.time()
        whole = c.embed(x, [x.shape[-1]])[0]
        long = c.embed_long(x)
        cw, cl = c._quantize(whole), c._quantize(long)
        row(
            f"SpeechTokenizer {c.window / 16000:g} s windows vs whole ({long_seconds:g} s)",
            int((cw == cl).sum()),
            cw.numel(),
            float((whole - long).abs().max()),
            time.time() - t,
        )


def mimi(long_seconds: float) -> None:
    c: Any = audiotok.load("mimi", pretrained=False, n_codebooks=32)
    xs = [wav(s, 24000, i) for i, s in enumerate(LENGTHS)]
    b, lengths = batch_of(xs)
    with torch.inference_mode():
        t = time.time()
        naive = c._codes(b)
        same = total = 0
        last_frames = 0
        for i, x in enumerate(xs):
            a = c._codes(x.view(1, 1, -1))
            n = a.shape[-1]
            eq = naive[i, :, :n] == a[0]
            same += int(eq.sum())
            total += a.numel()
            last_frames += int((~eq).any(0)[:-1].sum())
        row("Mimi naive padded batch vs alone", same, total, None, time.time() - t)
        print(f"  frames differing other than each file's last: {last_frames}")
        c.window = 20 * 24000
        x = wav(long_seconds, 24000, 9).view(1, 1, -1)
        t = time.time()
        whole = c._codes(x)
        long, _ = c.encode_long(x)
        print(f"  Mimi context: {c.context / 24000:.1f} s before each window")
        row(
            f"Mimi 20 s windows vs whole ({long_seconds:g} s)",
            int((whole == long).sum()),
            whole.numel(),
            None,
            time.time() - t,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mimi", action="store_true", help="also Mimi (needs transformers)")
    ap.add_argument("--long-seconds", type=float, default=35.0)
    ap.add_argument("--mimi-long-seconds", type=float, default=110.0)
    args = results.add_options(ap).parse_args()
    if args.smoke:
        args.long_seconds, args.mimi = 3.0, False
    print(f"{'':<52} {'equal codes':>20}  {'max |emb|':>9}")
    speechtokenizer(args.long_seconds, scale=0.25 if args.smoke else 1.0,
                    config=SMOKE_WIDTHS if args.smoke else None)  # fmt: skip
    if args.mimi:
        mimi(args.mimi_long_seconds)
    worst = min(ROWS, key=lambda r: r["equal"])
    results.finish(
        args, "hybrid_bounds.py", ROWS,
        f"hybrid codecs, batched/windowed vs alone: lowest share of equal codes "
        f"{worst['equal']:.5f} ({worst['line']})",
    )  # fmt: skip


if __name__ == "__main__":
    main()
