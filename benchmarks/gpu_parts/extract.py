"""S3M feature extraction: padded length-bucketed batches vs the per-file loop.

Baseline: fairseq's ``examples/hubert/simple_kmeans/dump_hubert_feature.py`` way, one file
per forward pass at its own length, features copied to the host. Ours: the library's corpus
path, ``make_batches`` (length buckets of ``--batch-seconds`` padded audio) and
``FeatureBatchFn`` (``extract_layers`` on each padded batch, features to the host). Same
model object, same audio (speech-like signals of 2-16 s), compute dtype bf16 (autocast, GPU).
Models: the real architectures with random weights (none can be downloaded; the compute is
the same): HuBERT-base up to layer 6 (GSLM's units; layers above the one asked for are not
run) and WavLM-large through its last layer, 24.
"""

from __future__ import annotations

from typing import Any

from gpu_parts.common import Context, Figure, Item, tests_module

MODELS = {"hubert-base-ls960": 6, "wavlm-large": 24}


def build_extractor(ctx: Context, name: str, layer: int) -> Any:
    from audiotok import extractors

    opts: dict[str, Any] = {}
    if ctx.sizes.s3m_config is not None:
        # the tests' tiny WavLM needs a smaller relative-position table: take theirs
        families = tests_module("s3m_tiny", "extractors/s3m_tiny.py").FAMILIES
        extra = families["wavlm-layer-preln"][1] if name.startswith("wavlm") else {}
        opts["config"] = {**ctx.sizes.s3m_config, **extra}
        layer = min(layer, int(ctx.sizes.s3m_config["num_hidden_layers"]))
    return extractors.load(
        name, pretrained=False, layers=[layer], dtype=ctx.dtype, device=ctx.device, **opts
    )


def per_file(ex: Any, waves: list[Any]) -> list[Any]:
    """One file per forward pass, at its own length (fairseq's dump_hubert_feature.py)."""
    import torch

    layer = ex.layers[0]
    out = []
    with torch.inference_mode():
        for w in waves:
            x = torch.from_numpy(w)[None].to(ex.device)
            feats, _ = ex.forward_layers(x, torch.tensor([len(w)]))
            out.append(feats[layer][0].float().cpu().numpy())
    return out


def batched(ex: Any, waves: list[Any], batch_seconds: float) -> list[Any]:
    """The corpus path: length buckets (``make_batches``), then ``FeatureBatchFn``."""
    from audiotok.corpus import AudioItem
    from audiotok.pipeline import FeatureBatchFn
    from audiotok.pipeline.plan import Planned, make_batches

    fn = FeatureBatchFn(ex)
    planned = [Planned(AudioItem(str(i), "", ""), len(w)) for i, w in enumerate(waves)]
    batches = make_batches(
        planned,
        int(batch_seconds * fn.sample_rate),
        not fn.batch_exact,
        getattr(fn, "long_samples", None),
    )
    out: list[Any] = [None] * len(waves)
    for batch in batches:
        idx = [int(p.item.id) for p in batch]
        for i, feats in zip(idx, fn([waves[i] for i in idx]), strict=True):
            out[i] = feats[0]  # [L=1, T', D] -> [T', D]
    return out


def measure(ctx: Context, name: str) -> Figure:
    import numpy as np

    from gpu_parts.common import utterances

    s = ctx.sizes
    ex = build_extractor(ctx, name, MODELS[name])
    waves = utterances(s.extract_files, s.extract_seconds, ex.sample_rate, ctx.seed)
    seconds = sum(len(w) for w in waves) / ex.sample_rate
    per_file(ex, waves[:2])  # warm-up, both paths
    batched(ex, waves[:2], s.batch_seconds)
    t_file, ref = ctx.timed(lambda: per_file(ex, waves))
    t_batch, got = ctx.timed(lambda: batched(ex, waves, s.batch_seconds))
    rel = 0.0
    for a, b in zip(ref, got, strict=True):
        if a.shape != b.shape or not np.isfinite(b).all():
            raise RuntimeError(f"batched features {b.shape} differ from per-file {a.shape}")
        rel = max(rel, float(np.abs(a - b).max() / (np.abs(a).max() + 1e-12)))
    dtype = ctx.dtype if ctx.device.startswith("cuda") else "float32"  # autocast: GPUs only
    return Figure(
        key=f"extract.{name}",
        part="extract",
        title=f"{name} L{ex.layers[0]} {dtype} batched",
        audio_s_per_s=seconds / t_batch,
        baseline="per-file loop",
        baseline_audio_s_per_s=seconds / t_file,
        ratio=t_file / t_batch,
        target=5.0,
        extra={
            "files": len(waves),
            "audio_s": round(seconds, 1),
            "batch_seconds": s.batch_seconds,
            "max_rel_diff": rel,
            "dtype": dtype,
        },
    )


ITEMS = [
    Item(
        f"extract.{name}",
        "extract",
        f"{name} extraction",
        ("transformers", "soundfile"),
        lambda ctx, name=name: measure(ctx, name),  # type: ignore[misc]
    )
    for name in MODELS
]
