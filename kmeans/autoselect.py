"""``--backend auto`` on CPU: the faster of ``torch`` and ``faiss-cpu`` on this machine, measured.

Why measure rather than a static rule: which one wins depends on the install, not on the
algorithm. Both run the same Lloyd iteration (one float32 GEMM of the data against the
centroids plus an argmin and a scatter); the difference is whose GEMM and loops are faster
here. pip's faiss-cpu wheel carries generic, AVX2 and AVX-512 builds and loads the best one
the CPU supports *and* whose module it finds; torch uses oneDNN/MKL kernels chosen at run
time. torch wins against a faiss-cpu wheel that fell back to its generic build; faiss wins where
its AVX2 build loads (faiss reports ``OPTIMIZE DD AVX2``); ``benchmarks/kmeans_train.py --also
torch,faiss-cpu`` times both. The order depends on the install. So the first ``auto`` run on a
machine times a Lloyd iteration of each backend on random data of the run's own dimension and k
(16384 rows; each backend timed three times, two iterations per call as training runs them,
interleaved, the fastest of each kept; seconds, once per machine and shape), and the winner is
cached in ``$AUDIOTOK_HOME/kmeans/cpu-backend.json`` under a key of the CPU model, core count,
torch threads, torch and faiss versions with faiss's compile options, and the dimension and k
rounded up to powers of two. Later runs read it.
Where the cache cannot be written the choice is kept for the process only. Without faiss,
auto is ``torch``. Set ``AUDIOTOK_KMEANS_CPU_BACKEND=torch|faiss-cpu`` to skip the
measurement. Tiny problems (``SMALL_FLOPS``) take ``torch`` without measuring.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger("audiotok.kmeans")
CPU_CHOICES = ("torch", "faiss-cpu")
CACHE_NAME = "cpu-backend.json"
ENV = "AUDIOTOK_KMEANS_CPU_BACKEND"
BENCH_ROWS = 16384
SMALL_FLOPS = 1 << 28  # 2 n D k of one iteration: about a tenth of a second at worst
_memo: dict[str, str] = {}

Measure = Callable[[int, int], dict[str, float]]


def _pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(dim: int, k: int) -> str:
    """What the choice depends on: CPU, threads, library builds, and the problem's shape."""
    import faiss
    import torch

    opts = getattr(faiss, "get_compile_options", lambda: "")()
    return (
        f"{_cpu_model()}|cpus {os.cpu_count()}|torch {torch.__version__} "
        f"threads {torch.get_num_threads()}|faiss {faiss.__version__} {opts}"
        f"|dim {_pow2(dim)}|k {_pow2(k)}"
    )


def cache_path() -> Path:
    from audiotok.weights import cache_root

    return cache_root() / "kmeans" / CACHE_NAME


def measure(dim: int, k: int, rows: int = BENCH_ROWS, repeats: int = 3) -> dict[str, float]:
    """Seconds of one Lloyd iteration of each CPU backend on random [rows, dim] data."""
    import torch

    from audiotok.kmeans.lloyd import lloyd_faiss, lloyd_torch

    rng = np.random.default_rng(0)
    n = max(rows, 2 * k)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    c = np.ascontiguousarray(x[rng.choice(n, k, replace=False)])
    xt, ct = torch.from_numpy(x), torch.from_numpy(c)
    iters = 2  # per call, as train runs them (a call's setup is spread over its iterations)
    runs: dict[str, Callable[[], object]] = {
        "torch": lambda: lloyd_torch(xt, ct, iters),
        "faiss-cpu": lambda: lloyd_faiss(x, c, iters),
    }
    best = dict.fromkeys(runs, float("inf"))
    for run in runs.values():  # warm up (thread pools, faiss's first index)
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            t = time.perf_counter()
            run()
            best[name] = min(best[name], (time.perf_counter() - t) / iters)
    return best


def cpu_backend(
    dim: int, k: int, n: int | None = None, *, measure_fn: Measure | None = None
) -> str:
    """``torch`` or ``faiss-cpu``, whichever runs a Lloyd iteration faster here (cached).

    Problems of at most :data:`SMALL_FLOPS` per iteration (``n`` rows known) run ``torch``
    unmeasured: an iteration takes milliseconds either way, less than measuring would."""
    forced = os.environ.get(ENV)
    if forced:
        from audiotok.errors import AudiotokError

        if forced not in CPU_CHOICES:
            raise AudiotokError(f"{ENV}={forced!r}: use one of {CPU_CHOICES}")
        return forced
    if n is not None and 2 * n * dim * k <= SMALL_FLOPS:
        return "torch"
    try:
        import faiss  # noqa: F401
    except ImportError:
        return "torch"
    key = machine_key(dim, k)
    if key in _memo:
        return _memo[key]
    path = cache_path()
    cache: dict[str, dict] = {}
    with contextlib.suppress(OSError, ValueError):
        cache = json.loads(path.read_text())
    entry = cache.get(key)
    if isinstance(entry, dict) and entry.get("backend") in CPU_CHOICES:
        _memo[key] = str(entry["backend"])
        return _memo[key]
    times = (measure_fn or measure)(dim, k)
    choice = min(times, key=times.__getitem__)
    log.info(
        "k-means backend auto: %s (one iteration: %s)",
        choice,
        ", ".join(f"{n} {s * 1e3:.0f} ms" for n, s in sorted(times.items())),
    )
    _memo[key] = choice
    cache[key] = {"backend": choice, "seconds_per_iteration": times, "rows": BENCH_ROWS}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(path)
    except OSError as e:
        log.debug("k-means backend choice not cached (%s)", e)
    return choice
