"""Train a unit vocoder on LJSpeech (subset) with mfcc-km100 units for a fixed CPU budget.

Prints, on the held-out files (never trained on), at step 0 and at the end: mel distance,
PESQ-wb, STOI (``audiotok.metrics``) and the unit error rate (the resynthesised audio
re-tokenized with mfcc-km100 against the original units; Levenshtein / reference length, on
deduplicated units and on frame-rate units). Skips cleanly when the data folder is absent.

    python benchmarks/vocoder_train.py --minutes 30

The run is one ``audiotok vocoder train`` (library call) with a time limit; the step-0
vocoder is rebuilt from the same seed and checked against the trainer's own step-0 figure.
The recipe (defaults): 128 generator channels, HiFi-GAN V1 resblocks, 0.56 s segments, batch
8, mel and duration losses alone for the first ``--adv-start`` steps, then MPD + MSD (channels
x 1/8) with LSGAN and feature matching (ParallelWaveGAN starts its discriminator late too:
``discriminator_train_start_steps``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import results

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ljspeech_coqui_subset"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/ljspeech_coqui_subset"))
    ap.add_argument("--minutes", type=float, default=30.0, help="training time budget")
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--adv-start", type=int, default=500)
    ap.add_argument("--disc-width", type=float, default=0.125)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=10**9, help="stop after this many steps")
    args = results.add_options(ap).parse_args()
    if args.smoke:
        args.steps, args.channels, args.batch_size, args.adv_start = 2, 16, 2, 1
    data = args.data if args.data.is_dir() else DATA
    if not (data / "wavs").is_dir():
        results.finish(args, "vocoder_train.py", [], f"vocoder train: skipped, no {args.data}")
        return 0
    if args.out is None:
        with tempfile.TemporaryDirectory(prefix="vocoder_train_") as tmp:
            args.out = Path(tmp)
            return run(args, data)
    return run(args, data)


def run(args: argparse.Namespace, data: Path) -> int:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import audiotok
    from audiotok.cli.app import main as cli
    from audiotok.eval.unit_resynth import score_resynthesis
    from audiotok.train.config import override
    from audiotok.train.corpus import load_index
    from audiotok.train.vocoder import train_vocoder
    from audiotok.train.vocoder_config import VocoderTrainConfig
    from audiotok.vocoders import load
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.model import Vocoder
    from audiotok.vocoders.resynth import unit_error_rate

    work = args.out
    tokens, voc_dir = work / "tokens", work / "voc"
    if not tokens.is_dir():
        try:
            cli(["encode", str(data / "wavs"), "-o", str(tokens), "--num-workers", "0", "-q"])
        except SystemExit as e:
            if e.code:
                raise
    t0 = time.time()
    cfg = override(
        VocoderTrainConfig(store=str(tokens), output=str(voc_dir)),
        {
            "schedule.steps": args.steps,
            "schedule.max_minutes": args.minutes,
            "data.batch_size": args.batch_size,
            "data.num_workers": 0,
            "schedule.checkpoint_every": 200,
            "schedule.log_every": 50,
            "device": args.device,
            "seed": args.seed,
            "data.valid_fraction": 0.15,
            "model": {"upsample_initial_channel": args.channels},
            "discriminators.names": ["mpd", "msd"],
            "discriminators.width": args.disc_width,
            "optim.adv_start": args.adv_start,
            "schedule.tensorboard": False,
        },
    )
    summary = train_vocoder(cfg, progress=False)
    train_s = time.time() - t0
    index = load_index(voc_dir / "data")
    _, valid = index.split(args.seed, 0.15, 16)

    def units_of(i: int) -> np.ndarray:
        return index.file(i)[1].numpy().astype(np.int64)

    def audio_of(i: int) -> np.ndarray:
        return index.file(i)[0].numpy().astype(np.float32) / 32768.0

    trained = load(str(voc_dir))
    torch.manual_seed(args.seed)  # train_vocoder seeds, then builds the vocoder: same weights
    initial = Vocoder(VocoderConfig.load(voc_dir)).eval()
    tok = audiotok.load("mfcc-km100")
    by_step = {}
    for name, voc in (("step 0", initial), (f"step {summary['steps']}", trained)):
        rows = []
        for i in valid:
            units = torch.from_numpy(units_of(i))
            ref = audio_of(i)
            wav = voc.decode(units)[0][0].numpy()
            scores, errors = score_resynthesis(ref, 16000, wav, 16000, units.numpy(), tok)
            rows.append(scores)
        by_step[name] = {
            k: float(np.mean([r[k] for r in rows if k in r]))
            for k in ("mel_distance", "pesq_wb", "stoi", "uer", "uer_frames")
        }
    logged0 = summary["first_eval"]["valid/mel_distance"]
    assert abs(logged0 - by_step["step 0"]["mel_distance"]) < 1e-3, "step-0 rebuild differs"
    ref_uer = []  # the tokenizer's own consistency: re-tokenized reference audio
    for i in valid:
        hyp = np.asarray(tok.encode(audio_of(i), 16000)).reshape(-1)
        ref_uer.append(unit_error_rate(units_of(i), hyp))
    print(
        f"data: {data} ({len(index.ids)} files; {len(valid)} held out: "
        f"{', '.join(index.ids[i] for i in valid)})"
    )
    print(
        f"trained {summary['steps']} steps in {train_s / 60:.1f} min on {args.device} "
        f"({args.threads} thread(s)); adversarial from step {args.adv_start}"
    )
    print(
        f"{'':>12} {'mel dist':>9} {'PESQ-wb':>8} {'STOI':>6} {'UER dedup':>10} {'UER frames':>11}"
    )
    for name, r in by_step.items():
        print(
            f"{name:>12} {r['mel_distance']:9.3f} {r['pesq_wb']:8.3f} {r['stoi']:6.3f} "
            f"{r['uer']:10.3f} {r['uer_frames']:11.3f}"
        )
    print(
        f"{'reference':>12} {'':>9} {'':>8} {'':>6} {np.mean(ref_uer):10.3f}   (the held-out "
        "audio itself re-tokenized: the floor for resynthesis)"
    )
    curve = [json.loads(x) for x in (voc_dir / "metrics.jsonl").read_text().splitlines()]
    print(
        "held-out mel distance by step: "
        + ", ".join(
            f"{r['step']}: {r['valid/mel_distance']:.3f}"
            for r in curve
            if "valid/mel_distance" in r
        )
    )
    last = by_step[f"step {summary['steps']}"]
    results.finish(
        args, "vocoder_train.py", [{"line": k, **v} for k, v in by_step.items()],
        f"vocoder train ({summary['steps']} steps, {train_s / 60:.1f} min): held-out mel distance "
        f"{by_step['step 0']['mel_distance']:.3f} -> {last['mel_distance']:.3f}, PESQ-wb "
        f"{last['pesq_wb']:.3f}, STOI {last['stoi']:.3f}",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
