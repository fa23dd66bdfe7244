"""audiotok kmeans train | eval | import | export: k-means codebooks for semantic units."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from audiotok.cli.common import err_console, out_console

kmeans_app = typer.Typer(
    help="Train, evaluate, import and export k-means codebooks (semantic units).",
    no_args_is_help=True,
)

ModelOpt = typer.Option(None, "--model", help="Extractor for audio input (e.g. hubert-base-ls960).")
LayerOpt = typer.Option(None, "--layer", help="Extractor layer (0 = transformer input).")
SplitOpt = typer.Option(None, "--split", help="fairseq dump split to read (train, valid, ...).")
FrameRateOpt = typer.Option(None, "--frame-rate", help="Frames/s of features that do not say.")
ExtractorOpt = typer.Option(
    None, "--extractor", help="Name of the extractor that made headerless features (.npy)."
)


def _source(path: Path, split, extractor, layer, frame_rate):
    from audiotok.kmeans.features import open_features

    return open_features(path, split=split, extractor=extractor, layer=layer, frame_rate=frame_rate)


@kmeans_app.command("train")
def train(
    inputs: list[Path] = typer.Argument(..., help="Features (dir or .npy), or audio with --model."),
    k: int = typer.Option(500, "-k", "--clusters", help="Number of units."),
    output: Path = typer.Option(..., "-o", "--output", help="Codebook to write (.safetensors)."),
    model: str | None = ModelOpt,
    layer: int | None = LayerOpt,
    extractor: str | None = ExtractorOpt,
    split: str | None = SplitOpt,
    frame_rate: float | None = FrameRateOpt,
    max_hours: float | None = typer.Option(None, help="Audio/feature time to sample at most."),
    max_memory_gb: float = typer.Option(8.0, help="Memory the feature sample may take."),
    backend: str = typer.Option("auto", help="auto, faiss-gpu, torch-gpu, faiss-cpu or torch."),
    seed: int = typer.Option(0, help="Seed for sampling and initialisation."),
    niter: int = typer.Option(20, help="Lloyd iterations."),
    nredo: int = typer.Option(1, help="Restarts (seed, seed+1, ...); the lowest inertia wins."),
    init: str = typer.Option("kmeans++", help="kmeans++ or random."),
    spherical: bool = typer.Option(False, help="Cosine k-means (implies --normalize l2)."),
    normalize: str = typer.Option("none", help="Feature normalisation: none or l2."),
    device: str = typer.Option("auto", help="Device of the extractor (audio input)."),
) -> int:
    """Train a codebook on a seeded sample of features that fits --max-memory-gb."""
    import logging

    from audiotok.kmeans.sampling import describe_budget, frames_for, sample
    from audiotok.kmeans.train import train as run

    log = logging.getLogger("audiotok.kmeans")  # ours only: faiss logs its loader at INFO
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    budget = max_memory_gb * 1e9
    if model is not None:
        from audiotok.kmeans.audio_source import load_extractor, sample_audio
        from audiotok.tokenizer import resolve_device

        ex = load_extractor(model, layer, resolve_device(device))
        max_frames = frames_for(budget, ex.dim)
        err_console.print(describe_budget(max_frames, ex.dim, max_memory_gb))
        smp, info, _ = sample_audio(
            [str(p) for p in inputs], ex, max_frames=max_frames, max_hours=max_hours, seed=seed
        )
    else:
        if len(inputs) != 1:
            raise typer.BadParameter("give one features path (or audio with --model)")
        src = _source(inputs[0], split, extractor, layer, frame_rate)
        info = src.info
        max_frames = frames_for(budget, info.dim)
        if max_hours is not None:
            if not info.frame_rate:
                raise typer.BadParameter("--max-hours on these features needs --frame-rate")
            max_frames = min(max_frames, int(max_hours * 3600 * info.frame_rate))
        err_console.print(describe_budget(max_frames, info.dim, max_memory_gb))
        smp = sample(src, max_frames=max_frames, seed=seed)
    err_console.print(
        f"k-means working memory beyond the sample: about {_work_mb(k, smp.feats.shape[1]):.0f} MB"
        + (" (l2 normalisation copies the sample)" if spherical or normalize == "l2" else "")
    )
    err_console.print(
        f"sampled {len(smp.feats)} frames ({smp.nbytes / 1e9:.3g} GB) of {smp.total_frames}"
        f"{' frames' if model is None else ' utterances'}"
    )
    meta = {**info.header(), "k": k}
    cb = run(
        smp.feats,
        k,
        backend=backend,
        niter=niter,
        nredo=nredo,
        seed=seed,
        init=init,
        spherical=spherical,
        normalize=normalize,
        meta=meta,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    cb.save(output)
    usage = cb.meta["usage"]
    out_console.print(
        f"wrote {output}: k={cb.k}, dim={cb.dim}, backend {cb.meta['backend']}, inertia/frame "
        f"{cb.meta['inertia'] / max(1, len(smp.feats)):.4g}, dead units "
        f"{sum(1 for u in usage if u == 0)}, {cb.meta['train_seconds']:.1f} s"
    )
    return 0


def _work_mb(k: int, dim: int, chunk: int = 16384) -> float:
    """Distances of one chunk to all centroids, centroid sums, and the chunk's copies."""
    return (chunk * k * 4 * 2 + k * dim * 8 + chunk * dim * 4 * 2) / 1e6


@kmeans_app.command("eval")
def evaluate(
    codebook: Path = typer.Argument(..., help="Codebook (.safetensors)."),
    inputs: list[Path] = typer.Argument(..., help="Features (dir or .npy) or an audio corpus."),
    align: Path | None = typer.Option(None, help="Folder of <utterance id>.tsv phone alignments."),
    plot: Path | None = typer.Option(None, help="Write the usage histogram (PNG)."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON."),
    model: str | None = ModelOpt,
    layer: int | None = LayerOpt,
    split: str | None = SplitOpt,
    frame_rate: float | None = FrameRateOpt,
    window_s: float = typer.Option(0.025, help="Frame window (s): frame centre = start + w/2."),
    device: str = typer.Option("auto", help="Device of the extractor (audio input)."),
) -> int:
    """Inertia, usage, unit entropy and bitrate; with --align phone/cluster purity and PNMI."""
    from audiotok.errors import AudiotokError
    from audiotok.kmeans import load
    from audiotok.kmeans.evaluate import evaluate as run
    from audiotok.kmeans.evaluate import iter_audio, iter_source

    cb = load(codebook)
    src = None
    if model is None and len(inputs) == 1:
        try:
            src = _source(
                inputs[0],
                split,
                cb.meta.get("extractor"),
                cb.meta.get("layer"),
                frame_rate or cb.meta.get("frame_rate"),
            )
        except AudiotokError:
            if not cb.meta.get("extractor"):
                raise
    if src is not None:
        cb.check_features(src.info.extractor, src.info.layer)
        rate = frame_rate or src.info.frame_rate or cb.meta.get("frame_rate")
        utts = iter_source(src)
    else:
        from audiotok.kmeans.audio_source import load_extractor
        from audiotok.tokenizer import resolve_device

        name = model or cb.meta.get("extractor")
        lay = layer if layer is not None else cb.meta.get("layer")
        if not name:
            raise AudiotokError("the codebook does not name its extractor: pass --model NAME")
        ex = load_extractor(name, lay, resolve_device(device))
        cb.check_features(ex.name, ex.layer)
        rate = ex.frame_rate
        utts = iter_audio([str(p) for p in inputs], ex)
    res = run(cb, utts, frame_rate=rate, align_dir=align, window_s=window_s)
    if plot is not None:
        from audiotok.kmeans.plot import plot_usage

        plot_usage(res["usage"], plot, title=f"{codebook.name}: {res['dead']} dead of {cb.k}")
    if as_json:
        print(json.dumps(res))
        return 0
    _print(res)
    return 0


def _print(r: dict) -> None:
    p = out_console.print
    p(f"utterances      {r['utterances']} ({r['frames']} frames)")
    p(f"inertia         {r['inertia']:.6g} ({r['inertia_per_frame']:.4g} per frame)")
    p(
        f"units used      {r['used']} of {r['k']}: {r['dead']} dead, {r['tiny']} tiny "
        f"(< {r['tiny_below_frames']:.3g} frames)"
    )
    p(
        f"unit entropy    {r['entropy_bits']:.3f} bits (max {r['max_entropy_bits']:.3f}, "
        f"perplexity {r['perplexity']:.1f})"
    )
    if r["bitrate_bps"] is not None:
        p(f"bitrate         {r['bitrate_bps']:.1f} bit/s at {r['frame_rate']:g} frames/s")
    if "pnmi" in r:
        p(
            f"aligned         {r['aligned_utterances']} utterances, {r['aligned_frames']} frames, "
            f"{r['phones']} phones"
        )
        p(f"phone purity    {r['phone_purity']:.4f}")
        p(f"cluster purity  {r['cluster_purity']:.4f}")
        p(f"PNMI            {r['pnmi']:.4f}")


@kmeans_app.command("import")
def import_(
    source: Path = typer.Argument(..., help="Centroids: .npy, a faiss index, or km.bin."),
    output: Path = typer.Option(..., "-o", "--output", help="Codebook to write (.safetensors)."),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Unpickle a fairseq/joblib km.bin (runs code in it)."
    ),
    extractor: str | None = ExtractorOpt,
    layer: int | None = LayerOpt,
    frame_rate: float | None = FrameRateOpt,
) -> int:
    """Convert foreign centroids once into an audiotok codebook."""
    from audiotok.kmeans.io import import_codebook

    meta = {"extractor": extractor, "layer": layer, "frame_rate": frame_rate}
    cb = import_codebook(source, allow_pickle=allow_pickle, meta=meta)
    cb.save(output)
    out_console.print(f"wrote {output}: k={cb.k}, dim={cb.dim}")
    return 0


@kmeans_app.command("export")
def export(
    codebook: Path = typer.Argument(..., help="Codebook (.safetensors)."),
    output: Path = typer.Option(..., "-o", "--output", help=".npy or .index/.faiss (faiss)."),
) -> int:
    """Write the centroids for other tools (numpy, faiss)."""
    from audiotok.kmeans import load
    from audiotok.kmeans.io import export_codebook

    export_codebook(load(codebook), output)
    out_console.print(f"wrote {output}")
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(kmeans_app, name="kmeans")
