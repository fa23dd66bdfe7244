"""Decode throughput: audiotok's vocoder decode vs a one-utterance-at-a-time loop.

The loop is textlesslib's way (``CodeHiFiGANVocoder.forward``: one utterance per call, the
generator run with autograd on and ``.detach()`` after, weight norm removed as ours is); the
audiotok path is ``audiotok.decoding.decode_units`` (inference mode; length-sorted padded
batches with masked padding on a GPU, one utterance at a time at its own length on the CPU,
where batching measured slower); ``--force-batches`` runs padded batches on the CPU too.
Same vocoder weights, same units, both write 16-bit wavs. Both paths are warmed up on one
utterance first, then run ``--repeats`` times in alternating order (loop first, then ours
first, ...); the median seconds and the spread of each are printed, and their ratio.
Units: mfcc-km100 units of the LJSpeech subset in ``/work/shared/data`` (encoded here) when
present, else random units of LJSpeech-like lengths.

    python benchmarks/vocoder_decode.py --seconds 60 --channels 512
    python benchmarks/vocoder_decode.py --smoke --json voc.json   # toy sizes
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import results

DATA = Path("/work/shared/data/ljspeech_coqui_subset")


def units_to_decode(seconds: float, work: Path, real: bool = True) -> tuple[list, str]:
    import numpy as np

    if real and (DATA / "wavs").is_dir():
        import audiotok
        from audiotok.cli.app import main as cli

        tokens = work / "tokens"
        try:
            cli(["encode", str(DATA / "wavs"), "-o", str(tokens), "--num-workers", "0", "-q"])
        except SystemExit as e:
            if e.code:
                raise
        items, total = [], 0.0
        for utt, codes in audiotok.open_tokens(str(tokens)):
            u = np.asarray(codes).reshape(-1).astype(np.int64)
            if total + len(u) / 100 > seconds:
                continue
            items.append((utt, u))
            total += len(u) / 100
        return items, f"mfcc-km100 units of {len(items)} LJSpeech files"
    rng = np.random.default_rng(0)
    items, total = [], 0.0
    while total < seconds:
        n = int(rng.integers(150, 1000))
        items.append((f"rand{len(items):03d}", rng.integers(0, 100, n)))
        total += n / 100
    return items, f"{len(items)} random unit sequences"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="audio to decode per path")
    ap.add_argument("--channels", type=int, default=512, help="generator channels (V1: 512)")
    ap.add_argument("--vocoder", default=None, help="a trained vocoder folder instead")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-frames", type=int, default=6000)
    ap.add_argument("--force-batches", action="store_true", help="padded batches on the CPU")
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs of each path")
    args = results.add_options(ap).parse_args()
    if args.smoke:
        args.seconds, args.channels, args.repeats = 3.0, 32, 2

    import torch

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # random weights give denormal activations; trained ones do not
    with tempfile.TemporaryDirectory(prefix="vocoder_decode_") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, work: Path) -> int:
    import numpy as np
    import torch

    from audiotok import audio
    from audiotok.decoding import decode_units
    from audiotok.vocoders import load
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.model import Vocoder

    items, what = units_to_decode(args.seconds, work, real=not args.smoke)
    if args.vocoder:
        voc = load(args.vocoder)
    else:
        torch.manual_seed(0)
        config = VocoderConfig(
            num_units=100, frame_rate=100, upsample_initial_channel=args.channels
        )
        voc = Vocoder(config).eval()
        with torch.no_grad():  # x8: audible output (HiFi-GAN's init is near silent), same speed
            for name, p in voc.named_parameters():
                if name.startswith("generator.") and p.dim() > 1:
                    p.mul_(8.0)
    seconds = sum(len(u) for _, u in items) / voc.frame_rate

    def loop(todo: list) -> float:
        t0 = time.perf_counter()
        for utt, u in todo:  # textlesslib: vocoder(code) per utterance, autograd on, .detach()
            wav = voc(torch.from_numpy(u)[None]).detach().squeeze()
            audio.write(str(work / "loop" / f"{utt}.wav"), wav.numpy(), voc.sample_rate)
        return time.perf_counter() - t0

    def ours(todo: list) -> float:
        t0 = time.perf_counter()
        n = decode_units(
            todo,
            voc,
            lambda utt: work / "batched" / f"{utt}.wav",
            batch_frames=args.batch_frames,
            batched=True if args.force_batches else None,
        )
        if n != len(todo):
            raise SystemExit(f"decode_units wrote {n} of {len(todo)} files")
        return time.perf_counter() - t0

    loop(items[:1]), ours(items[:1])  # warm-up: allocator, kernels, file system
    t_loops, t_ours = [], []
    for r in range(args.repeats):
        if r % 2 == 0:
            t_loops.append(loop(items))
            t_ours.append(ours(items))
        else:
            t_ours.append(ours(items))
            t_loops.append(loop(items))
    t_loop, t_batch = statistics.median(t_loops), statistics.median(t_ours)

    worst = 0.0
    for utt, _ in items:
        a, b = (
            audio.read(str(work / "loop" / f"{utt}.wav")),
            audio.read(str(work / "batched" / f"{utt}.wav")),
        )
        worst = max(worst, float(np.abs(a - b).max()))
    print(
        f"{what}, {seconds:.1f} s of audio at {voc.sample_rate} Hz; vocoder "
        f"{voc.config.upsample_initial_channel} channels; {args.threads} thread(s), CPU; "
        f"median of {args.repeats} alternating runs [min-max]"
    )
    print(
        f"{'one at a time (textlesslib style)':<34} {t_loop:7.1f} s  "
        f"[{min(t_loops):.1f}-{max(t_loops):.1f}] ({seconds / t_loop:6.2f} x real time)"
    )
    mode = "padded batches" if args.force_batches else "one by one, inference mode"
    print(
        f"{'audiotok decode (' + mode + ')':<34} {t_batch:7.1f} s  "
        f"[{min(t_ours):.1f}-{max(t_ours):.1f}] ({seconds / t_batch:6.2f} x real time)"
    )
    rows = [
        {"line": "one at a time (textlesslib style)", "seconds": t_loop, "runs": t_loops},
        {"line": f"audiotok decode_units ({mode})", "seconds": t_batch, "runs": t_ours},
    ]
    results.finish(
        args, "vocoder_decode.py", rows,
        f"vocoder decode ({seconds:.0f} s of audio, {voc.config.upsample_initial_channel} "
        f"channels): {t_loop / t_batch:.2f}x one-at-a-time (median of {args.repeats}); largest "
        f"sample difference {worst:.1e}",
        ratio=t_loop / t_batch, target=">= 3x",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
