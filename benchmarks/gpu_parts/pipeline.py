"""End-to-end ``encode`` vs the model's forward alone: the share of the model's throughput the
pipeline keeps (the method of ``benchmarks/pipeline_efficiency.py``).

A semantic tokenizer, HuBERT-base (random weights) up to layer 6 in bf16 plus a k = 500
codebook, encodes a synthesized corpus (``pipeline_seconds`` of FLAC files of 2-16 s at 22.05
and 44.1 kHz, so every file is decoded and resampled to 16 kHz, as real corpora are; a set of
distinct files and links to them) with ``audiotok.pipeline.encode_corpus``: header probes,
decode workers (the CLI's default count), length buckets, the batch function, the token store.
Baseline, same audio and same batches preloaded in memory: the extractor's forward alone
(``extract_layers``), timed before and after the end-to-end run (their mean). Also timed: the
batch function alone (forward + k-means assignment), to say where the difference goes.
"""

from __future__ import annotations

from typing import Any

from gpu_parts.common import Context, Figure, Item, write_corpus

LAYER, K = 6, 500
RATES = (22050, 44100)  # file rates: the pipeline resamples every file to 16 kHz


def tokenizer(ctx: Context) -> Any:
    import torch

    from audiotok.kmeans.codebook import Codebook
    from audiotok.semantic import SemanticTokenizer
    from gpu_parts.extract import build_extractor

    ex = build_extractor(ctx, "hubert-base-ls960", LAYER)
    g = torch.Generator().manual_seed(ctx.seed)
    cb = Codebook(torch.randn(K, ex.dim, generator=g), {"extractor": ex.name, "layer": ex.layer})
    return SemanticTokenizer(ex, cb).to(ctx.device)


def preload(items: list[Any], fn: Any, batch_seconds: float) -> list[list[Any]]:
    """The engine's batches (same probe, same buckets), decoded into memory."""
    from audiotok import audio
    from audiotok.pipeline.plan import make_batches, probe

    sr = fn.sample_rate
    planned = [p for it in items if not isinstance(p := probe(it, sr, None), str)]
    batches = make_batches(planned, int(batch_seconds * sr), not fn.batch_exact, fn.long_samples)
    return [[audio.read(p.item.path, sr) for p in b] for b in batches]


def model_only(ctx: Context, tok: Any, batches: list[list[Any]]) -> float:
    import torch

    from audiotok.pipeline.batch import pad_waves

    def run() -> None:
        with torch.inference_mode():
            for waves in batches:
                tok.extractor.extract_layers(*pad_waves(waves))

    return ctx.timed(run)[0]


def measure(ctx: Context) -> Figure:
    from audiotok.pipeline import RunOptions, TokenBatchFn, encode_corpus, scan_inputs

    s = ctx.sizes
    corpus = ctx.tmp / "pipeline_corpus"
    tok = tokenizer(ctx)
    write_corpus(
        corpus, s.pipeline_seconds, s.pipeline_distinct, s.extract_seconds, tok.sample_rate,
        rates=RATES, ext="flac",
    )  # fmt: skip
    items, problems = scan_inputs([str(corpus)])
    fn = TokenBatchFn(tok)
    batches = preload(items, fn, s.batch_seconds)
    seconds = sum(len(w) for b in batches for w in b) / tok.sample_rate
    model_only(ctx, tok, batches[:1])  # warm-up
    m1 = model_only(ctx, tok, batches)
    b1 = ctx.timed(lambda: [fn(b) for b in batches])[0]
    opts = RunOptions(batch_seconds=s.batch_seconds, num_workers=s.pipeline_workers)
    e2e, summary = ctx.timed(
        lambda: encode_corpus(
            items, tok, ctx.tmp / "pipeline_tokens", options=opts, problems=problems
        )  # fmt: skip
    )
    m2 = model_only(ctx, tok, batches)
    if summary.encoded != len(items) or summary.errors:
        raise RuntimeError(
            f"encode_corpus encoded {summary.encoded}/{len(items)}: {summary.errors}"
        )
    model = (m1 + m2) / 2
    return Figure(
        key="pipeline.encode",
        part="pipeline",
        title=f"encode_corpus, HuBERT-base L{tok.extractor.layer} + k={K}",
        audio_s_per_s=seconds / e2e,
        baseline="model forward alone",
        baseline_audio_s_per_s=seconds / model,
        ratio=model / e2e,
        ratio_kind="efficiency",
        target=0.8,
        extra={
            "files": len(items),
            "file_rates_hz": list(RATES),
            "audio_s": round(seconds, 1),
            "batches": len(batches),
            "workers": s.pipeline_workers,
            "model_s": [round(m1, 3), round(m2, 3)],
            "batch_fn_s": round(b1, 3),
            "end_to_end_s": round(e2e, 3),
            "assignment_s": round(b1 - model, 3),
            "loading_store_other_s": round(e2e - b1, 3),
        },
    )


ITEMS = [
    Item(
        "pipeline.encode",
        "pipeline",
        "end-to-end encode",
        ("transformers", "soundfile", "soxr", "pyarrow", "safetensors"),
        measure,
    )
]
