"""How much of the model's own throughput `audiotok encode` keeps, end to end.

    python benchmarks/pipeline_efficiency.py [--minutes 10] [--workers 1] [--batch-seconds 60]

A semantic tokenizer with the HuBERT-base architecture (random weights: none can be
downloaded here; the compute is the same), layer 6, and a k = 500 codebook. The corpus is
``../shared/data/fsdd`` (8 kHz spoken digits, resampled to 16 kHz) cut to ``--minutes`` of
audio, or speech-like audio synthesised when that folder is absent.

Measured in one run, on the same audio and the same length-bucketed batches:

1. model only: the extractor's forward pass over batches preloaded in memory;
2. batch function: (1) plus the k-means assignment (``TokenBatchFn``), still preloaded;
3. end to end: ``audiotok.pipeline.encode_corpus`` (probe, worker decode + resample, batch
   function, store writes), after the tokenizer is built;
4. the whole command: ``python -m audiotok encode`` in a subprocess (interpreter start, imports,
   model load included).

Prints audio-seconds per second for each, the ratio end-to-end / model-only (issue 9's
target on CPU: >= 0.9), and where the difference goes. The model-only pass runs before and
after the end-to-end one; their mean is the baseline (the machine may be shared).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import results
import soundfile as sf
import torch

import audiotok
from audiotok import audio, extractors
from audiotok.corpus import scan
from audiotok.kmeans.codebook import Codebook
from audiotok.pipeline import RunOptions, TokenBatchFn, encode_corpus
from audiotok.pipeline.batch import pad_waves
from audiotok.pipeline.plan import make_batches, probe

FSDD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd"


def corpus(tmp: Path, minutes: float) -> Path:
    out = tmp / "corpus"
    out.mkdir()
    budget = minutes * 60
    files = sorted(FSDD.rglob("*.wav")) if FSDD.is_dir() else []
    total = 0.0
    if files:
        for f in files:  # links keep the real files; ids are the file names
            (out / f.name).symlink_to(f)
            total += sf.info(f).duration
            if total >= budget:
                break
        return out
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from audio_fixtures import speechlike

    i = 0
    while total < budget:
        secs = 2.0 + (i % 7) * 0.9
        sf.write(out / f"u{i:05d}.wav", speechlike(secs, 16000, i), 16000)
        total += secs
        i += 1
    return out


# --smoke: HuBERT-base's convolutions (the same frame rate) under a two-layer, 64-wide
# transformer, so the toy run spends its time on the paths, not on a 95 M-parameter model
SMOKE_CONFIG = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                "intermediate_size": 128}  # fmt: skip


def build_tokenizer(tmp: Path, config: dict | None = None):
    ex: Any = extractors.load("hubert-base-ls960", pretrained=False, config=config)  # all kept
    ex.model.save_pretrained(tmp / "hubert")
    layer = min(6, int(ex.model.config.num_hidden_layers))
    rng = np.random.default_rng(0)
    cb = Codebook(
        torch.from_numpy(
            rng.standard_normal((500, int(ex.model.config.hidden_size))).astype(np.float32)
        ),
        {"extractor": "hubert", "layer": layer},  # a model folder's extractor is named by it
    )
    cb.save(tmp / "km500.safetensors")
    tok = audiotok.load(str(tmp / "hubert"), codebook=str(tmp / "km500.safetensors"), layer=layer)
    return tok, layer


def preload(items, sr: int, batch_seconds: float, exact: bool, long_samples):
    planned = [p for it in items if not isinstance(p := probe(it, sr, None), str)]
    batches = make_batches(planned, int(batch_seconds * sr), not exact, long_samples)
    return [[audio.read(p.item.path, sr) for p in b] for b in batches]


def model_only(tok, batches) -> float:
    ex = tok.extractor
    t0 = time.perf_counter()
    with torch.inference_mode():
        for waves in batches:
            ex.extract_layers(*pad_waves(waves))
    return time.perf_counter() - t0


def batch_fn_only(fn, batches) -> float:
    t0 = time.perf_counter()
    for waves in batches:
        fn(waves)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-seconds", type=float, default=60.0)
    a = results.add_options(ap).parse_args()
    if a.smoke:
        a.minutes, a.workers = 0.05, 0
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        src = corpus(tmp, a.minutes)
        tok, layer = build_tokenizer(tmp, SMOKE_CONFIG if a.smoke else None)
        items = scan([src])
        sr = tok.sample_rate
        fn = TokenBatchFn(tok)
        batches = preload(items, sr, a.batch_seconds, fn.batch_exact, fn.long_samples)
        secs = sum(len(w) for b in batches for w in b) / sr
        pad = sum(len(b) * max(len(w) for w in b) for b in batches) / sr
        print(
            f"{len(items)} files, {secs / 60:.1f} min of audio in {len(batches)} batches "
            f"(padding {100 * (pad / secs - 1):.1f} %); torch threads {torch.get_num_threads()}, "
            f"decode workers {a.workers}"
        )
        model_only(tok, batches[:1])  # warm-up
        m1 = model_only(tok, batches)
        b1 = batch_fn_only(fn, batches)
        opts = RunOptions(batch_seconds=a.batch_seconds, num_workers=a.workers)
        t0 = time.perf_counter()
        s = encode_corpus(items, tok, tmp / "tokens", options=opts)
        e2e = time.perf_counter() - t0
        m2 = model_only(tok, batches)
        assert s.encoded == len(items) and not s.errors, s.errors
        t0 = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "audiotok", "encode", str(src), "-o", str(tmp / "cli"),
             "--model", str(tmp / "hubert"), "--layer", str(layer), "--codebook",
             str(tmp / "km500.safetensors"), "--num-workers", str(a.workers),
             "--batch-seconds", str(a.batch_seconds), "-q"],
            capture_output=True, text=True,
        )  # fmt: skip
        cli = time.perf_counter() - t0
        assert r.returncode == 0, r.stderr
        a1 = dict(audiotok.open_tokens(str(tmp / "tokens")))
        a2 = dict(audiotok.open_tokens(str(tmp / "cli")))
        same = all(np.array_equal(a1[k], a2[k]) for k in a1)
        model = (m1 + m2) / 2
        print(f"model forward only      {secs / model:7.1f} audio-s/s  ({m1:.1f} s, {m2:.1f} s)")
        print(f"batch function          {secs / b1:7.1f} audio-s/s  (+ k-means assignment)")
        print(f"encode_corpus (library) {secs / e2e:7.1f} audio-s/s")
        print(f"audiotok encode (CLI)   {secs / cli:7.1f} audio-s/s  (start, imports, load)")
        lib, whole = model / e2e, model / cli
        print(f"ratio end-to-end / model-only: {lib:.3f} (library), {whole:.3f} (CLI)")
        print(
            f"where the rest goes: assignment {b1 - model:+.1f} s, loading/store/other "
            f"{e2e - b1:+.1f} s, command start-up {cli - e2e:+.1f} s; CLI codes equal the "
            f"library's: {same}"
        )
    rows = [
        {"line": "model forward only", "audio_s_per_s": secs / model},
        {"line": "batch function", "audio_s_per_s": secs / b1},
        {"line": "encode_corpus (library)", "audio_s_per_s": secs / e2e},
        {"line": "audiotok encode (CLI)", "audio_s_per_s": secs / cli},
    ]
    results.finish(
        a, "pipeline_efficiency.py", rows,
        f"end-to-end encode / model forward alone: {lib:.3f} (library), {whole:.3f} (CLI); "
        f"CLI codes equal the library's: {same}",
        ratio=lib, target=">= 0.9",
    )  # fmt: skip


if __name__ == "__main__":
    main()
