"""Codec encode throughput: audiotok's batched path vs each package's own per-file API.

For each model: the same random weights (real architecture sizes, ``pretrained=False``,
seed 0; the reference package's model gets audiotok's weights by key, see ``reference``),
the same files (the first ``--n-files`` of ../shared/data/fsdd when present, else
synthesised speech-like signals of 0.3-1.0 s), after a warm-up of each path, ``--repeats``
runs of the three paths in alternating order (median seconds reported):

- baseline: the ``encodec`` package's ``EncodecModel.encode(x)`` per file (bandwidth set on
  the model; every segment's codes, concatenated), or transformers' ``DacModel.encode`` (the
  DAC a user without descript-audio-codec picks; both are in the ``test`` extra, neither is
  an audiotok dependency);
- audiotok, what ``encode`` runs on this device: the engine's ``make_batches`` (length
  buckets of ``--batch-seconds``) and its batch function ``TokenBatchFn`` (its batching
  policy: padded, windows of one length, or equal lengths);
- audiotok's padded batch, the path a GPU runs (``Codec._encode_padded`` with the padding hooks),
  timed here too so the CPU figure is not a per-file loop compared with a per-file loop.

Prints audio-seconds per second for each, the ratios against the baseline, and the fraction
of files whose codes are identical (EnCodec 48 kHz: audiotok cuts 1 s segments without the
package's 1 % overlap, so its codes are not comparable and only speed is reported).
Then the peak memory (RSS, a fresh process) of one ``--long-minutes`` file through
``encode_long`` (skip with ``--long-minutes 0``).

    python benchmarks/codec_throughput.py                      # the issue's defaults
    python benchmarks/codec_throughput.py --n-files 20 --long-minutes 5    # a quick look
    python benchmarks/codec_throughput.py --smoke --json codec.json        # toy sizes
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import results

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fsdd"


def load_files(n: int, sr: int) -> tuple[list[np.ndarray], str]:
    from audiotok import audio

    wavs = sorted(DATA.rglob("*.wav"))[:n] if DATA.is_dir() else []
    if len(wavs) == n:
        return [audio.read(str(p), sr) for p in wavs], f"{DATA.resolve()} (first {n})"
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        t = np.arange(int(rng.uniform(0.3, 1.0) * sr)) / sr
        f0 = rng.uniform(90, 220) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
        ph = 2 * np.pi * np.cumsum(f0) / sr
        x = sum(np.sin(h * ph) / h for h in range(1, 10)) * np.clip(np.sin(6 * t), 0, 1)
        out.append((0.3 * x + 0.01 * rng.standard_normal(t.size)).astype(np.float32))
    return out, "synthesised speech-like signals"


def build(name: str, device: str):
    import audiotok

    return audiotok.load(name, pretrained=False, seed=0, device=device)


def reference(codec):
    """The reference package's model of ``codec``, carrying the codec's weights (audiotok's
    modules use the packages' key names)."""
    state = {k: v for k, v in codec.model.state_dict().items() if "unused_steps" not in k}
    if codec.spec.name.startswith("encodec"):
        import math

        from encodec import EncodecModel
        from encodec import modules as em
        from encodec import quantization as qt

        ours = codec.model
        c = ours.seanet
        sizes = dict(
            channels=c.channels,
            dimension=c.dimension,
            n_filters=c.n_filters,
            ratios=c.ratios,
            n_residual_layers=c.n_residual_layers,
            lstm=c.lstm_layers,
            norm=c.norm,
            causal=c.causal,
        )
        enc, dec = em.SEANetEncoder(**sizes), em.SEANetDecoder(**sizes)
        n_q = ours.quantizer.n_q
        quantizer = qt.ResidualVectorQuantizer(dimension=c.dimension, n_q=n_q, bins=1024)
        m = EncodecModel(
            enc,
            dec,
            quantizer,
            ours.target_bandwidths,
            ours.sample_rate,
            ours.channels,
            normalize=ours.normalize,
            segment=ours.segment,
        )
        assert m.frame_rate == math.ceil(ours.sample_rate / c.hop_length)
        m.load_state_dict(state)
        m.set_target_bandwidth(codec.spec.params["bandwidth_kbps"])
    else:  # transformers' DacModel, what a user without descript-audio-codec picks
        import sys
        from pathlib import Path

        from transformers import DacConfig, DacModel

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "codecs"))
        from codec_reference import _release_key  # transformers' key -> the release's

        cfg = codec.model.config
        m = DacModel(
            DacConfig(
                encoder_hidden_size=cfg["encoder_dim"],
                downsampling_ratios=list(cfg["encoder_rates"]),
                decoder_hidden_size=cfg["decoder_dim"],
                n_codebooks=cfg["n_codebooks"],
                codebook_size=cfg["codebook_size"],
                codebook_dim=cfg["codebook_dim"],
                sampling_rate=cfg["sample_rate"],
            )
        )
        m.apply_weight_norm()
        n = len(cfg["encoder_rates"])
        m.load_state_dict({k: state[_release_key(k, n)] for k in m.state_dict()})
    return m.to(codec.device).eval()


def baseline_encode(m, codec, x):
    """The package's own per-file API (``m``: :func:`reference`)."""
    import torch

    t = torch.from_numpy(x).view(1, 1, -1).to(codec.device)
    if codec.spec.name.startswith("encodec"):
        if getattr(m, "channels", 1) > 1:
            t = t.expand(-1, m.channels, -1)
        return torch.cat([f[0][0] for f in m.encode(t)], dim=-1)  # every segment's [K, T']
    hop = int(np.prod(m.config.downsampling_ratios))  # DAC pads to whole frames itself
    t = torch.nn.functional.pad(t, (0, -t.shape[-1] % hop))
    return m.encode(t, n_quantizers=codec.n_q).audio_codes[0, : codec.n_q]


class _Padded:
    """The codec's padded path (``Codec._encode_padded``): one padded batch through the
    padding hooks for any lengths (``encode_batch`` runs each length apart where that path is
    not exact on the device)."""

    batch_exact = True  # the engine then builds batches of mixed lengths

    def __init__(self, codec):
        self._codec = codec

    def __getattr__(self, name):
        return getattr(self._codec, name)

    def encode_batch(self, x, lengths):
        return self._codec._encode_padded(x, lengths)


def audiotok_encode(codec, files, batch_seconds: float, padded: bool = False):
    """What ``encode_corpus`` runs: ``make_batches`` length buckets, then the engine's batch
    function (``TokenBatchFn``) on each."""
    import torch

    from audiotok.corpus import AudioItem
    from audiotok.pipeline.batch import TokenBatchFn
    from audiotok.pipeline.plan import Planned, make_batches

    fn = TokenBatchFn(_Padded(codec) if padded else codec)
    planned = [Planned(AudioItem(str(i), "", ""), len(w)) for i, w in enumerate(files)]
    budget = int(batch_seconds * codec.sample_rate)
    out: dict[int, torch.Tensor] = {}
    for batch in make_batches(planned, budget, not fn.batch_exact, fn.long_samples):
        idx = [int(p.item.id) for p in batch]
        for i, codes in zip(idx, fn([files[i] for i in idx]), strict=True):
            out[i] = torch.from_numpy(codes)
    return [out[i] for i in range(len(files))]


def throughput(name: str, args) -> dict:
    import torch

    codec = build(name, args.device)
    ref = reference(codec)
    files, source = load_files(args.n_files, codec.sample_rate)
    seconds = sum(len(x) for x in files) / codec.sample_rate
    with torch.inference_mode():
        baseline_encode(ref, codec, files[0])  # warm-up, both paths
        audiotok_encode(codec, files[:2], args.batch_seconds)
        runs: dict[str, list[float]] = {"base": [], "ours": [], "pad": []}
        paths = {
            "base": lambda: [baseline_encode(ref, codec, x).cpu().long() for x in files],
            "ours": lambda: audiotok_encode(codec, files, args.batch_seconds),
            "pad": lambda: audiotok_encode(codec, files, args.batch_seconds, padded=True),
        }
        out: dict[str, list] = {}
        for r in range(args.repeats):  # alternate the order: base first, then last, ...
            for key in list(paths) if r % 2 == 0 else list(paths)[::-1]:
                t0 = time.perf_counter()
                out[key] = paths[key]()
                runs[key].append(time.perf_counter() - t0)
        base, ours, pad = out["base"], out["ours"], out["pad"]
        t_base, t_ours, t_pad = (statistics.median(runs[k]) for k in ("base", "ours", "pad"))
    comparable = not name.startswith("encodec-48")

    def equal(xs):
        if not comparable:
            return None
        return sum(torch.equal(a, b[: a.shape[0]]) for a, b in zip(base, xs, strict=True)) / len(
            files
        )

    return {
        "model": name,
        "files": len(files),
        "source": source,
        "audio_s": round(seconds, 1),
        "baseline_audio_s_per_s": round(seconds / t_base, 2),
        "audiotok_audio_s_per_s": round(seconds / t_ours, 2),
        "audiotok_padded_audio_s_per_s": round(seconds / t_pad, 2),
        "ratio": round(t_base / t_ours, 2),
        "ratio_padded": round(t_base / t_pad, 2),
        "files_equal": equal(ours),
        "files_equal_padded": equal(pad),
        "device": args.device,
        "runs_s": {k: [round(x, 2) for x in v] for k, v in runs.items()},
    }


def peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss would carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def long_child(name: str, minutes: float, device: str) -> None:
    """In a fresh process: RSS before, after building the waveform, and at the peak."""
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    codec = build(name, device)
    rss0 = peak_rss_mb()
    n = int(minutes * 60 * codec.sample_rate)
    g = torch.Generator().manual_seed(0)
    wav = torch.empty(1, 1, n)
    step = codec.sample_rate * 60
    for s in range(0, n, step):  # a minute at a time, so building it costs no extra peak
        k = min(step, n - s)
        wav[0, 0, s : s + k] = 0.1 * torch.randn(k, generator=g)
    rss1 = peak_rss_mb()
    t0 = time.perf_counter()
    with torch.inference_mode():
        codes, _ = codec.encode_long(wav.to(device))
    wall = time.perf_counter() - t0
    rss2 = peak_rss_mb()
    print(
        json.dumps(
            {
                "model": name,
                "minutes": minutes,
                "frames": codes.shape[-1],
                "rss_model_mb": round(rss0),
                "rss_with_waveform_mb": round(rss1),
                "peak_rss_mb": round(rss2),
                "waveform_mb": round(n * 4 / 2**20),
                "encode_s": round(wall, 1),
                "audio_s_per_s": round(minutes * 60 / wall, 2),
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="encodec-24khz,dac-44khz")
    p.add_argument("--n-files", type=int, default=100)
    p.add_argument("--batch-seconds", type=float, default=60.0)
    p.add_argument("--device", default="cpu", help="cpu or cuda (cuda: unmeasured here)")
    p.add_argument("--long-model", default="encodec-24khz")
    p.add_argument("--long-minutes", type=float, default=60.0)
    p.add_argument("--long-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--repeats", type=int, default=3, help="alternating runs of each path")
    args = results.add_options(p).parse_args()
    if args.smoke:
        args.models, args.n_files, args.long_minutes, args.repeats = "encodec-24khz", 3, 0.05, 1
    if args.long_child:
        long_child(args.long_model, args.long_minutes, args.device)
        return
    rows = []
    for name in [m for m in args.models.split(",") if m]:
        rows.append(throughput(name, args))
        print(json.dumps(rows[-1]), flush=True)
    if args.long_minutes > 0:
        cmd = [
            sys.executable,
            __file__,
            "--long-child",
            "--long-model",
            args.long_model,
            "--long-minutes",
            str(args.long_minutes),
            "--device",
            args.device,
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()
        print(out)
        rows.append({"line": "encode_long peak memory", **json.loads(out.splitlines()[-1])})
    head = ", ".join(
        f"{r['model']} {r['ratio']:.2f}x (padded {r['ratio_padded']:.2f}x, equal "
        f"{r['files_equal'] if r['files_equal'] is not None else '-'})"
        for r in rows
        if "ratio" in r
    )
    results.finish(
        args, "codec_throughput.py", rows,
        f"codec encode, engine batch function vs per-file API ({args.device}): {head}",
        ratio=rows[0]["ratio"] if rows else None,
    )  # fmt: skip


if __name__ == "__main__":
    main()
