"""K-means on N x 768 features (1M, k = 2000 on a GPU): Lloyd iterations and assignment.

Data: clustered synthetic features made on the device (1000 Gaussian blobs whose centres span
a 64-dim subspace, plus unit noise in every dimension: ``kmeans_train.synthetic``'s recipe),
float32; initial centroids ``init_centroids(..., "random")``, the same for every backend.

- torch (``lloyd_torch``) and faiss (``lloyd_faiss``; on a GPU only where faiss was built
  with GPUs) seconds per iteration, against the iteration's matrix product alone: one
  ``[N, 768] x [768, k]`` float32 product (``torch.mm`` into a preallocated output, best of
  3, at the session's float32 matmul precision). Efficiency = product time / iteration time.
- assignment (``Codebook.assign``: exact, see ``kmeans/assign.py``) in frames per second,
  against fairseq's ``ApplyKmeans`` formula (``dump_km_label.py``: ``|x|^2 - 2 x C + |C|^2``,
  then ``argmin``) in torch on the same device, 65536 rows at a time.

Audio-seconds: frames at 50 Hz (HuBERT/WavLM), so N frames are N / 50 s of audio.
"""

from __future__ import annotations

from typing import Any

from gpu_parts.common import FRAME_RATE_50HZ, Context, Figure, Item, Skip


def data(ctx: Context) -> dict[str, Any]:
    import torch

    from audiotok.kmeans.backends import init_centroids

    s, dev = ctx.sizes, ctx.device
    g = torch.Generator(device=dev).manual_seed(ctx.seed)
    basis = torch.randn(64, s.kmeans_dim, generator=g, device=dev)
    centres = (torch.randn(1000, 64, generator=g, device=dev) * 3) @ basis / 8
    lab = torch.randint(0, 1000, (s.kmeans_n,), generator=g, device=dev)
    x = torch.randn(s.kmeans_n, s.kmeans_dim, generator=g, device=dev)
    for a in range(0, s.kmeans_n, 1 << 18):
        x[a : a + (1 << 18)] += centres[lab[a : a + (1 << 18)]]
    c0 = init_centroids(x, s.kmeans_k, "random", ctx.seed)
    best = matmul_seconds(ctx, x, c0)
    if dev.startswith("cuda"):
        torch.cuda.empty_cache()
    return {"x": x, "c0": c0, "matmul_s": best, "precision": torch.get_float32_matmul_precision()}


def matmul_seconds(ctx: Context, x: Any, c: Any) -> float:
    """Best of 3 (after a warm-up) of one ``x @ c.T`` into a preallocated output."""
    import torch

    buf = torch.empty(x.shape[0], c.shape[0], device=x.device)
    times = [ctx.timed(lambda: torch.mm(x, c.T, out=buf))[0] for _ in range(4)]
    return min(times[1:])


def _iteration_figure(
    ctx: Context, d: dict[str, Any], key: str, backend: str, per_iter: float, iters: int
) -> Figure:
    s = ctx.sizes
    audio = s.kmeans_n / FRAME_RATE_50HZ
    return Figure(
        key=key,
        part="kmeans",
        title=f"{backend} Lloyd iter {s.kmeans_n}x{s.kmeans_dim} k={s.kmeans_k}",
        audio_s_per_s=audio / per_iter,
        baseline="its matmul alone",
        baseline_audio_s_per_s=audio / d["matmul_s"],
        ratio=d["matmul_s"] / per_iter,
        ratio_kind="efficiency",
        target=0.5,
        extra={
            "s_per_iter": per_iter,
            "matmul_s": d["matmul_s"],
            "iterations": iters,
            "matmul_precision": d["precision"],
        },
    )


def torch_iterations(ctx: Context) -> Figure:
    from audiotok.kmeans.lloyd import lloyd_torch

    d = ctx.shared("kmeans", lambda: data(ctx))
    lloyd_torch(d["x"], d["c0"], 1)  # warm-up
    t, (_, objs) = ctx.timed(lambda: lloyd_torch(d["x"], d["c0"], ctx.sizes.kmeans_niter))
    return _iteration_figure(ctx, d, "kmeans.torch", "torch", t / len(objs), len(objs))


def faiss_iterations(ctx: Context) -> Figure:
    from audiotok.kmeans.backends import faiss_gpus
    from audiotok.kmeans.lloyd import lloyd_faiss

    gpu = ctx.device.startswith("cuda")
    if gpu and faiss_gpus() == 0:
        raise Skip(
            "faiss here has no GPU support (faiss-gpu wheels are ~135 MB, too big to carry "
            "to the node; install faiss-gpu there to measure it)"
        )
    d = ctx.shared("kmeans", lambda: data(ctx))
    x, c0 = d["x"].cpu().numpy(), d["c0"].cpu().numpy()
    lloyd_faiss(x, c0, 1, gpu=gpu)  # warm-up
    t, (_, objs) = ctx.timed(lambda: lloyd_faiss(x, c0, ctx.sizes.kmeans_niter, gpu=gpu))
    backend = "faiss-gpu" if gpu else "faiss-cpu"
    fig = _iteration_figure(ctx, d, "kmeans.faiss", backend, t / len(objs), len(objs))
    if gpu:
        fig.extra["note"] = "faiss takes host arrays: each call copies the data to the GPU"
    return fig


def assignment(ctx: Context) -> Figure:
    import torch

    from audiotok.kmeans.codebook import Codebook

    d = ctx.shared("kmeans", lambda: data(ctx))
    x, c = d["x"], d["c0"]
    cb = Codebook(c.clone(), {}).to(ctx.device)
    cn = (c * c).sum(1)

    def fairseq() -> Any:
        out = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
        for a in range(0, x.shape[0], 65536):
            xs = x[a : a + 65536]
            out[a : a + 65536] = ((xs * xs).sum(1, keepdim=True) - 2 * xs @ c.T + cn).argmin(1)
        return out

    cb.assign(x[:4096])  # warm-up, both
    fairseq()
    t_ours, ours = ctx.timed(lambda: cb.assign(x))
    t_base, base = ctx.timed(fairseq)
    n = x.shape[0]
    return Figure(
        key="kmeans.assign",
        part="kmeans",
        title=f"exact assignment {n}x{x.shape[1]} k={c.shape[0]}",
        audio_s_per_s=n / FRAME_RATE_50HZ / t_ours,
        baseline="fairseq ApplyKmeans formula",
        baseline_audio_s_per_s=n / FRAME_RATE_50HZ / t_base,
        ratio=t_base / t_ours,
        extra={
            "frames_per_s": n / t_ours,
            "baseline_frames_per_s": n / t_base,
            "rows_baseline_differs": int((ours != base).sum()),
        },
    )


ITEMS = [
    Item("kmeans.torch", "kmeans", "torch Lloyd iterations", (), torch_iterations),
    Item("kmeans.faiss", "kmeans", "faiss Lloyd iterations", ("faiss",), faiss_iterations),
    Item("kmeans.assign", "kmeans", "unit assignment", (), assignment),
]
