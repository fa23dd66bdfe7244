"""audiotok kmeans train | eval | import | export: k-means codebooks for semantic units."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from audiotok.cli.common import err_console, out_console
from audiotok.kmeans.defaults import NITER, TOL

kmeans_app = typer.Typer(
    rich_markup_mode=None,  # click's plain help: wraps at any width, never cuts an option name
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
    backend: str = typer.Option(
        "auto",
        help="auto (on CPU: the faster of torch and faiss-cpu here, measured once), faiss-gpu, "
        "torch-gpu, faiss-cpu or torch.",
    ),
    seed: int = typer.Option(0, help="Seed for sampling and initialisation."),
    niter: int = typer.Option(NITER, help="Lloyd iterations at most."),
    tol: float = typer.Option(
        TOL, help="Stop when the relative inertia change falls below this (0: only when unchanged)."
    ),
    nredo: int = typer.Option(1, help="Restarts (seed, seed+1, ...); the lowest inertia wins."),
    init: str = typer.Option("kmeans++", help="kmeans++ or random."),
    spherical: bool = typer.Option(False, help="Cosine k-means (implies --normalize l2)."),
    normalize: str = typer.Option("none", help="Feature normalisation: none or l2."),
    device: str = typer.Option("auto", help="Device of the extractor (audio input)."),
) -> int:
    """Train a codebook on a seeded sample of features that fits --max-memory-gb."""
    import logging

    from audiotok.kmeans.runs import train_inputs

    log = logging.getLogger("audiotok.kmeans")  # ours only: faiss logs its loader at INFO
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    cb, drawn = train_inputs(
        [str(p) for p in inputs],
        k,
        model=model,
        layer=layer,
        extractor=extractor,
        split=split,
        frame_rate=frame_rate,
        max_hours=max_hours,
        max_memory_gb=max_memory_gb,
        device=device,
        seed=seed,
        note=err_console.print,
        backend=backend,
        niter=niter,
        tol=tol,
        nredo=nredo,
        init=init,
        spherical=spherical,
        normalize=normalize,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    cb.save(output)
    usage = cb.meta["usage"]
    stop = "converged" if cb.meta["converged"] else "stopped at --niter"
    out_console.print(
        f"wrote {output}: k={cb.k}, dim={cb.dim}, backend {cb.meta['backend']}, inertia/frame "
        f"{cb.meta['inertia'] / max(1, len(drawn.sample.feats)):.4g}, dead units "
        f"{sum(1 for u in usage if u == 0)}, {cb.meta['iterations_run']} iterations ({stop}), "
        f"{cb.meta['train_seconds']:.1f} s"
    )
    return 0


@kmeans_app.command("eval")
def evaluate(
    codebook: Path = typer.Argument(..., help="Codebook (.safetensors)."),
    inputs: list[Path] = typer.Argument(..., help="Features (dir or .npy) or an audio corpus."),
    align: Path | None = typer.Option(None, help="Folder of <utterance id>.tsv phone alignments."),
    plot: Path | None = typer.Option(None, help="Write the usage histogram (PNG)."),
    html: Path | None = typer.Option(
        None, "--html", help="Write a self-contained HTML report (index.html, PNGs, audio) to DIR."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON."),
    model: str | None = ModelOpt,
    layer: int | None = LayerOpt,
    split: str | None = SplitOpt,
    frame_rate: float | None = FrameRateOpt,
    window_s: float = typer.Option(0.025, help="Frame window (s): frame centre = start + w/2."),
    device: str = typer.Option("auto", help="Device of the extractor (audio input)."),
) -> int:
    """Inertia, usage, unit entropy and bitrate; with --align phone/cluster purity and PNMI."""
    from audiotok.kmeans.runs import evaluate_inputs

    run = evaluate_inputs(
        codebook,
        [str(p) for p in inputs],
        align=align,
        model=model,
        layer=layer,
        split=split,
        frame_rate=frame_rate,
        window_s=window_s,
        device=device,
        per_utterance=html is not None,
    )
    res = run.result
    if plot is not None:
        from audiotok.kmeans.plot import plot_usage

        plot_usage(
            res["usage"], plot, title=f"{codebook.name}: {res['dead']} dead of {run.codebook.k}"
        )
    if html is not None:
        from audiotok.kmeans.report import write_eval_report

        index = write_eval_report(html, run)
        err_console.print(f"wrote {index}")
    if as_json:
        print(json.dumps({k: v for k, v in res.items() if k != "per_utterance"}))
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
    if cb.extractor is None:
        err_console.print(
            "note: the codebook does not name the extractor it was trained on; pass --extractor "
            "NAME --layer L here to record it, or give the extractor wherever the codebook is "
            "used (--model NAME --codebook FILE)"
        )
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
