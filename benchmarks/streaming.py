"""Streaming latency and speed of the causal codecs and of a unit vocoder (issue 24).

Random weights of the released sizes (nothing can be downloaded here; speed does not depend on
the weights), speech-like audio, on this CPU with ``--threads`` intra-op threads (1: one core).
Per streaming codec:

- algorithmic latency: one frame (the codecs are causal: no lookahead), and the warm-up held
  back once at a stream's start (EnCodec's reflection padding);
- real-time factor per chunk (wall time of one ``push`` / the chunk's duration) of the
  streaming encoder and decoder, at batch 1 and batch B (B streams in one forward);
- concurrent real-time streams per core (encoding alone, and encoding + decoding): the
  largest number of streams, run as one batch, whose pushes keep up with real time (RTF <= 1),
  starting from ``B / RTF`` of the batch-B figure and checked by running that many (fewer
  until one keeps up; the checks are in the JSON);
- whether the streamed codes equal the offline ``encode`` of the same audio.

Unit vocoder (HiFi-GAN V1 size, 50 Hz units): latency ``(1 + lookahead)`` frames, RTF per
chunk, and the difference to the offline decode for lookaheads 0 .. the receptive radius.

    python benchmarks/streaming.py [--smoke] [--seconds 6] [--chunk-ms 80] [--json out.json]

``--toy`` uses tiny models and 1 s of audio (a smoke run). The headline is the last line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import results
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "streaming"))

import audiotok  # noqa: E402

from audio_fixtures import speechlike  # noqa: E402
from stream_tiny import TINY_MIMI  # noqa: E402


def build(name: str, toy: bool) -> Any:
    if name == "mimi":
        return audiotok.load("mimi", pretrained=False, config=TINY_MIMI if toy else None)
    cfg = {"config": {"n_filters": 4}} if toy else {}
    return audiotok.load("encodec-24khz", pretrained=False, n_codebooks=8, **cfg)


def push_times(stream: Any, pieces: list[Any]) -> tuple[list[float], list[Any]]:
    times, outs = [], []
    for p in pieces:
        t = time.perf_counter()
        outs.append(stream.push(p))
        times.append(time.perf_counter() - t)
    outs.append(stream.flush())
    return times, outs


def cut(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    return [x[..., i : i + n] for i in range(0, x.shape[-1], n)]


def rtf(times: list[float], chunk_s: float, skip: int) -> float:
    """Mean wall time per push past the warm-up pushes, over the chunk's duration."""
    steady = times[skip:] or times
    return statistics.mean(steady) / chunk_s


def codec_figures(name: str, toy: bool, seconds: float, chunk_ms: float, batch: int) -> dict:
    tok = build(name, toy)
    sr, hop = tok.sample_rate, tok.hop_length
    chunk = max(hop, round(chunk_ms / 1000 * sr / hop) * hop)  # whole frames per push
    chunk_s = chunk / sr
    x = torch.from_numpy(speechlike(seconds, sr, seed=0))
    enc = tok.streaming_encoder()
    dec = tok.streaming_decoder()
    skip = math.ceil(enc.warmup / chunk) + 1
    t_enc, outs = push_times(enc, cut(x, chunk))
    codes = torch.cat(outs, dim=-1)
    t0 = time.perf_counter()
    offline = tok.encode(x, sr)
    offline_enc = (time.perf_counter() - t0) / seconds
    t0 = time.perf_counter()
    tok.decode(offline)
    offline_dec = (time.perf_counter() - t0) / seconds
    equal = int((codes == offline).all(0).sum()), offline.shape[-1]
    fpc = chunk // hop
    t_dec, _ = push_times(dec, cut(codes, fpc))
    xb = torch.from_numpy(speechlike(seconds, sr, seed=1)).repeat(batch, 1)
    xb = xb + 1e-3 * torch.randn(xb.shape, generator=torch.Generator().manual_seed(0))
    t_enc_b, outs_b = push_times(tok.streaming_encoder(), cut(xb, chunk))
    codes_b = torch.cat(outs_b, dim=-1)
    t_dec_b, _ = push_times(tok.streaming_decoder(), cut(codes_b, fpc))
    fig = {
        "model": name,
        "size": "toy" if toy else "released",
        "codebooks": tok.num_codebooks,
        "frame_ms": 1000 * hop / sr,
        "lookahead_ms": 0.0,
        "latency_ms": 1000 * hop / sr,
        "warmup_ms": 1000 * enc.warmup / sr,
        "chunk_ms": 1000 * chunk_s,
        "encode_rtf_b1": rtf(t_enc, chunk_s, skip),
        "decode_rtf_b1": rtf(t_dec, chunk_s, skip),
        f"encode_rtf_b{batch}": rtf(t_enc_b, chunk_s, skip),
        f"decode_rtf_b{batch}": rtf(t_dec_b, chunk_s, skip),
        "frames_equal_offline": f"{equal[0]}/{equal[1]}",
        "offline_encode_rtf": offline_enc,  # the whole file at once, for reference
        "offline_decode_rtf": offline_dec,
    }
    # concurrent real-time streams per core: the largest count whose pushes keep up (RTF <= 1),
    # starting from B / RTF(B) at batch B and checked by running that many streams
    for what, dec_too in (("encode", False), ("encode_decode", True)):
        per = fig[f"encode_rtf_b{batch}"] + (fig[f"decode_rtf_b{batch}"] if dec_too else 0.0)
        n, checks = max(1, int(batch / per)), []
        while n > 0 and len(checks) < 5:
            xs = x.repeat(n, 1)[..., : 10 * chunk]
            t_n, outs_n = push_times(tok.streaming_encoder(), cut(xs, chunk))
            r = rtf(t_n, chunk_s, skip)
            if dec_too:
                t_nd, _ = push_times(tok.streaming_decoder(), cut(torch.cat(outs_n, -1), fpc))
                r += rtf(t_nd, chunk_s, skip)
            checks.append((n, round(r, 3)))
            if r <= 1.0:
                break
            n = min(n - 1, int(n / r))
        fig[f"streams_per_core_{what}"] = n
        fig[f"streams_per_core_{what}_checks"] = checks
    return fig


def vocoder_figures(toy: bool, seconds: float, chunk_ms: float) -> dict:
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.model import Vocoder

    torch.manual_seed(0)
    size = {"upsample_initial_channel": 32, "embedding_dim": 16} if toy else {}
    voc = Vocoder(VocoderConfig(num_units=100, frame_rate=50.0, **size)).eval()
    # HiFi-GAN's N(0, 0.01) init leaves an untrained generator's output near its biases (a
    # unit changed moves it by ~1e-8); torch's default init lets units reach the output
    for m in voc.generator.modules():
        if isinstance(m, torch.nn.Conv1d | torch.nn.ConvTranspose1d):
            m.reset_parameters()
    n = int(seconds * 50)
    units = torch.randint(0, 100, (n,), generator=torch.Generator().manual_seed(0))
    ref = voc.decode(units[None])[0][0]
    fpc = max(1, round(chunk_ms / 20))
    R = voc.streaming_decoder().context
    diffs = {}
    times: list[float] = []
    for la in sorted({0, 1, 2, 4, R // 2, R}):
        s = voc.streaming_decoder(lookahead=la)
        t, outs = push_times(s, cut(units, fpc))
        got = torch.cat(outs)
        err = got - ref
        snr = 10 * math.log10(float(ref.pow(2).sum()) / max(float(err.pow(2).sum()), 1e-30))
        diffs[la] = {"max_abs_rel": float(err.abs().max() / ref.abs().max()), "snr_db": snr}
        if la == R:
            times = t
    return {
        "model": "unit-hifigan-v1" + (" (toy)" if toy else ""),
        "frame_ms": 20.0,
        "receptive_radius_frames": R,
        "latency_ms_at_radius": 20.0 * (1 + R),
        "chunk_ms": 20.0 * fpc,
        "decode_rtf_b1_at_radius": rtf(times, 0.02 * fpc, 1),
        "difference_to_offline_by_lookahead": diffs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=None, help="audio per measurement")
    ap.add_argument("--chunk-ms", type=float, default=80.0, help="audio per push")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (1: one core)")
    ap.add_argument("--models", default="mimi,encodec-24khz")
    a = results.add_options(ap).parse_args()
    a.toy = a.smoke  # tiny models, 1 s
    torch.set_num_threads(a.threads)
    seconds = a.seconds or (1.0 if a.toy else 6.0)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"torch {torch.__version__}, {a.threads} thread(s), {seconds:g} s audio per run; "
        f"{os.cpu_count()} CPUs, load average {load} (other processes slow every figure)"
    )
    figs = []
    for name in a.models.split(","):
        f = codec_figures(name, a.toy, seconds, a.chunk_ms, a.batch)
        figs.append(f)
        print(json.dumps(f))
    v = vocoder_figures(a.toy, seconds, a.chunk_ms)
    print(json.dumps(v))
    head = "; ".join(
        f"{f['model']}: latency {f['latency_ms']:.1f} ms, RTF b1 enc {f['encode_rtf_b1']:.3f} "
        f"dec {f['decode_rtf_b1']:.3f}, b{a.batch} enc {f[f'encode_rtf_b{a.batch}']:.3f} "
        f"dec {f[f'decode_rtf_b{a.batch}']:.3f}, real-time streams/core: "
        f"{f['streams_per_core_encode']} encode, {f['streams_per_core_encode_decode']} both, "
        f"codes equal {f['frames_equal_offline']}"
        for f in figs
    )
    meta = {"threads": a.threads, "seconds": seconds, "load_average": os.getloadavg()}
    results.finish(a, "streaming.py", [*figs, {"vocoder": v, "run": meta}], head)


if __name__ == "__main__":
    main()
