"""Codec encode: audiotok's padded batches (what a GPU runs) vs each package's per-file API.

``benchmarks/codec_throughput.py``'s logic, its functions: the baseline is
``EncodecModel.encode(x)`` per file (every segment's codes) or DAC's ``model.encode(
model.preprocess(x, sr), n_quantizers)``; ours is ``_encode_padded`` (the padded
batch through the padding hooks, without ``encode_batch``'s per-length groups) on length buckets of
``--batch-seconds``. Same model object (real architecture, random weights, seed 0), same
speech-like files of 1-8 s. Also reported: the fraction of files whose codes equal the
baseline's, and of codes equal position by position.
"""

from __future__ import annotations

from typing import Any

from gpu_parts.common import Context, Figure, Item, utterances


def measure(ctx: Context, name: str) -> Figure:
    import torch
    from codec_throughput import audiotok_encode, baseline_encode, reference

    import audiotok

    s = ctx.sizes
    codec: Any = audiotok.load(
        name, pretrained=False, seed=0, device=ctx.device, **s.codec_configs.get(name, {})
    )
    ref = reference(codec)
    files = utterances(s.codec_files, s.codec_seconds, codec.sample_rate, ctx.seed)
    seconds = sum(len(x) for x in files) / codec.sample_rate
    with torch.inference_mode():
        baseline_encode(ref, codec, files[0])  # warm-up, both paths
        audiotok_encode(codec, files[:2], s.batch_seconds, padded=True)
        t_base, base = ctx.timed(lambda: [baseline_encode(ref, codec, x).cpu() for x in files])
        t_pad, pad = ctx.timed(lambda: audiotok_encode(codec, files, s.batch_seconds, True))
    same_files, same, total = 0, 0, 0
    for a, b in zip(base, pad, strict=True):
        b = b[: a.shape[0]]
        n = min(a.shape[-1], b.shape[-1])
        same_files += int(torch.equal(a, b))
        same += int((a[..., :n] == b[..., :n]).sum())
        total += a.numel()
    return Figure(
        key=f"codec.{name}",
        part="codec",
        title=f"{name} encode, padded batches",
        audio_s_per_s=seconds / t_pad,
        baseline="package per-file API",
        baseline_audio_s_per_s=seconds / t_base,
        ratio=t_base / t_pad,
        extra={
            "files": len(files),
            "audio_s": round(seconds, 1),
            "files_equal": same_files / len(files),
            "codes_equal": same / total,
            "n_codebooks": int(codec.n_q),
        },
    )


ITEMS = [
    Item(
        "codec.encodec-24khz",
        "codec",
        "EnCodec 24 kHz encode",
        ("encodec",),
        lambda ctx: measure(ctx, "encodec-24khz"),
    ),
    Item(
        "codec.dac-44khz",
        "codec",
        "DAC 44 kHz encode",
        ("transformers",),
        lambda ctx: measure(ctx, "dac-44khz"),
    ),
]
