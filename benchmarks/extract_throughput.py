"""Batched audiotok S3M extraction vs a per-file loop in the style of fairseq's
``examples/hubert/simple_kmeans/dump_hubert_feature.py`` (one file at a time, no padding),
same model: the HuBERT-base architecture with random weights (no download). One run:
prints the max abs difference of the features and the wall-time ratio.

    python benchmarks/extract_throughput.py                 # 200 utterances, CPU
    python benchmarks/extract_throughput.py -n 50 --layer 6
    python benchmarks/extract_throughput.py --device cuda --dtype bf16 --model wavlm-large

Audio: ../shared/data/fsdd (8 kHz digits, resampled) or librivox if present, else synthetic.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import results
import torch

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_audio(n: int, synthetic: bool = False) -> tuple[list[np.ndarray], str]:
    from audiotok import audio

    for sub in () if synthetic else ("fsdd", "librivox_pocketsphinx"):
        d = DATA / sub
        if d.is_dir():
            files = sorted(p for p in d.rglob("*") if p.suffix in (".wav", ".flac"))[:n]
            if files:
                return [audio.read(str(p), 16000) for p in files], f"{d} ({len(files)} files)"
    rng = np.random.default_rng(0)
    return [
        (0.1 * rng.standard_normal(int(16000 * rng.uniform(0.5, 1 if synthetic else 4)))).astype(
            np.float32
        )
        for _ in range(n)
    ], f"synthetic noise ({n} files; no ../shared/data)"


def per_file(ex, wavs, device):
    """dump_hubert_feature.py style: one file per forward pass, model's own output."""
    out = []
    with torch.inference_mode():
        for w in wavs:
            x = torch.from_numpy(w)[None].to(device)
            feats, _ = ex.forward_layers(x, torch.tensor([len(w)]))
            out.append(feats[ex.layers[0]][0].float().cpu())
    return out


def batched(ex, wavs, batch_seconds):
    """The engine's path: ``make_batches`` length buckets, then ``FeatureBatchFn`` per batch."""
    from audiotok.corpus import AudioItem
    from audiotok.pipeline.batch import FeatureBatchFn
    from audiotok.pipeline.plan import Planned, make_batches

    fn = FeatureBatchFn(ex)
    planned = [Planned(AudioItem(str(i), "", ""), len(w)) for i, w in enumerate(wavs)]
    out: list = [None] * len(wavs)
    for batch in make_batches(planned, int(batch_seconds * 16000), not ex.batch_exact):
        idx = [int(p.item.id) for p in batch]
        for i, feats in zip(idx, fn([wavs[i] for i in idx]), strict=True):
            out[i] = torch.from_numpy(feats[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=200, help="utterances (default 200)")
    ap.add_argument("--model", default="hubert-base-ls960", help="architecture (random weights)")
    ap.add_argument("--layer", type=int, default=6)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", help="float32 | bf16 | fp16 (GPU only)")
    ap.add_argument("--batch-seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = results.add_options(ap).parse_args()
    if args.smoke:
        args.n, args.threads = 3, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    from audiotok import extractors

    wavs, source = load_audio(args.n, synthetic=args.smoke)
    ex = extractors.load(
        args.model, pretrained=False, layers=[args.layer], dtype=args.dtype, device=args.device
    )
    secs = sum(len(w) for w in wavs) / 16000
    print(
        f"audio: {source}, {secs:.1f} s; model {args.model} (random weights) layer "
        f"{args.layer}; {args.device} {args.dtype}; torch threads {torch.get_num_threads()}"
    )
    batched(ex, wavs[:4], args.batch_seconds)  # warm-up
    t = time.perf_counter()
    ref = per_file(ex, wavs, args.device)
    t_file = time.perf_counter() - t
    t = time.perf_counter()
    got = batched(ex, wavs, args.batch_seconds)
    t_batch = time.perf_counter() - t
    diff = max(float((a - b).abs().max()) for a, b in zip(ref, got, strict=True))
    frames_ok = all(a.shape == b.shape for a, b in zip(ref, got, strict=True))
    print(f"{'path':<34}{'wall s':>9}{'audio s/s':>11}")
    print(f"{'per-file loop (fairseq style)':<34}{t_file:>9.2f}{secs / t_file:>11.1f}")
    print(f"{'audiotok batched':<34}{t_batch:>9.2f}{secs / t_batch:>11.1f}")
    print(f"features: same frame counts {frames_ok}; max abs diff {diff:.2e}")
    if not (frames_ok and diff < 1e-3):
        raise SystemExit("batched features differ from the per-file ones")
    ratio = t_file / t_batch
    rows = [
        {"line": "per-file loop (fairseq style)", "audio_s_per_s": secs / t_file},
        {
            "line": "audiotok batched (make_batches + FeatureBatchFn)",
            "audio_s_per_s": secs / t_batch,
        },
    ]
    results.finish(
        args, "extract_throughput.py", rows,
        f"S3M extraction ({args.model} arch., {args.device}): batched {ratio:.2f}x the per-file "
        f"loop, {secs / t_batch:.1f} audio-s/s; max abs diff {diff:.1e}",
        ratio=ratio, target=">= 5x (GPU)",
    )  # fmt: skip


if __name__ == "__main__":
    main()
