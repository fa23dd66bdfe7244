"""Does distillation put phones into codebook 0? Two tiny hybrid codecs, same budget, one
distilled to MFCC features and one not.

Data: phone-aligned synthetic speech (``../shared/tools/espeak_corpus.py OUT --n 200 --seed
0``, needs espeak-ng) split 160 / 40 by id, plus the 5 LibriVox utterances of
``../shared/data/librivox_pocketsphinx`` (real speech; ``phone_alignments.tsv`` converted to
one ``<id>.tsv`` per utterance), held out. Both codecs train on the 160 with the same
architecture, seed, data order and loss weights; the distilled one has the released D-axis
weight (120), the other 0 (its teacher loss is computed at zero weight, so the compute per
step is the same). The first run trains for ``--minutes`` (wall clock, on a shared machine);
the second runs the same number of steps, so both get the same budget in steps.

Printed per codec, on the held-out sets: codebook-0 PNMI (``audiotok.metrics.codebooks.
probe_store`` on a token store encoded with ``audiotok.pipeline.encode_corpus``), the PNMI
of all codebooks jointly, the mel distance of the decoded audio (``eval recon``'s metric),
and the teacher cosine (D-axis, codebook 0 through the projection, MFCC aligned to the
codec's frames). For scale, the PNMI of ``mfcc-km100`` (k-means on the teacher's own
features, at 100 Hz) on the same files.

Claim checked: the distilled codec's codebook-0 PNMI on the held-out synthetic speech is at
least ``MARGIN`` (0.05, absolute) above the undistilled one's.

usage: python benchmarks/hybrid_distill.py [--minutes 10] [--work DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import results

SHARED = Path(__file__).resolve().parents[2] / "shared"
ESPEAK_TOOL = SHARED / "tools" / "espeak_corpus.py"
LIBRIVOX = SHARED / "data" / "librivox_pocketsphinx"
MARGIN = 0.05
MODEL = {"n_filters": 8, "dimension": 64, "lstm_layers": 1, "kmeans_iters": 20}


def espeak_corpus(work: Path, n: int = 200) -> tuple[Path, Path, Path, Path] | None:
    """(train wavs, held-out wavs, held-out alignments, all alignments) of ``n`` utterances,
    the last fifth held out."""
    root = work / "espeak"
    if not (root / "wav").is_dir() or len(list((root / "wav").glob("*.wav"))) < n:
        if shutil.which("espeak-ng") is None or not ESPEAK_TOOL.is_file():
            return None
        subprocess.run(
            [sys.executable, str(ESPEAK_TOOL), str(root), "--n", str(n), "--seed", "0"],
            check=True,
            capture_output=True,
        )
    wavs = sorted((root / "wav").glob("*.wav"))[:n]
    train, held = work / "espeak_train", work / "espeak_held"
    cut = n - n // 5
    for d, part in ((train, wavs[:cut]), (held, wavs[cut:])):
        d.mkdir(exist_ok=True)
        for w in part:
            if not (d / w.name).exists():
                os.symlink(w, d / w.name)
    return train, held, root / "align", root / "align"


def librivox(work: Path) -> tuple[Path, Path] | None:
    """(wav folder, alignment folder of <id>.tsv start/end/phone) or None when absent."""
    table = LIBRIVOX / "phone_alignments.tsv"
    if not table.is_file():
        return None
    wavs, align = work / "librivox", work / "librivox_align"
    wavs.mkdir(exist_ok=True)
    align.mkdir(exist_ok=True)
    rows: dict[str, list[str]] = {}
    with open(table, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows.setdefault(r["utt"], []).append(f"{r['start']}\t{r['end']}\t{r['phone']}")
    for utt, lines in rows.items():
        (align / f"{utt}.tsv").write_text("\n".join(lines) + "\n")
        if not (wavs / f"{utt}.wav").exists():
            os.symlink(LIBRIVOX / f"{utt}.wav", wavs / f"{utt}.wav")
    return wavs, align


def train(
    name: str,
    corpus: Path,
    work: Path,
    distill: float,
    steps: int,
    minutes: float | None,
    lr: float,
    adv_start: int,
) -> dict:
    from audiotok.train.config import override
    from audiotok.train.hybrid import train_hybrid
    from audiotok.train.hybrid_config import HybridTrainConfig

    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    cfg = override(
        HybridTrainConfig(inputs=[str(corpus)], output=str(out)),
        {
            "schedule.steps": steps,
            "teacher.name": "mfcc",
            "model.n_codebooks": 4,
            "model.codebook_size": 128,
            "model.arch": MODEL,
            "data.segment_seconds": 1.0,
            "data.batch_size": 8,
            "optim.lr": lr,
            "device": "cpu",
            "data.num_workers": 0,
            "discriminators.names": ["mpd", "msd", "mstft"],
            "discriminators.width": 0.25,
            "optim.adv_start": adv_start,
            "loss.distill": distill,
            "data.valid_fraction": 0.05,
            "data.valid_max": 8,
            "schedule.checkpoint_every": max(steps, 1),
            "schedule.log_every": 100,
            "schedule.eval_every": 500,
            "schedule.max_minutes": minutes,
            "schedule.tensorboard": False,
        },
    )
    s = train_hybrid(cfg, progress=False)
    s["wall_s"] = time.perf_counter() - t0
    return s


def evaluate(codec_dir: Path, sets: dict[str, tuple[Path, Path]], work: Path) -> dict:
    """Per held-out set: PNMI of codebook 0 and of all, mel distance, teacher cosine."""
    import torch

    import audiotok
    from audiotok import audio
    from audiotok.extractors import load
    from audiotok.metrics.codebooks import probe_store
    from audiotok.metrics.signal import mel_distance
    from audiotok.pipeline import RunOptions, encode_corpus, scan_inputs
    from audiotok.train.distill import align_teacher, teacher_cosine

    tok = audiotok.load(str(codec_dir))
    model, mfcc = tok.model, load("mfcc")
    out = {}
    for set_name, (wavs, align) in sets.items():
        store = work / f"tok_{codec_dir.name}_{set_name}"
        shutil.rmtree(store, ignore_errors=True)
        items, problems = scan_inputs([str(wavs)])
        encode_corpus(items, tok, store, options=RunOptions(num_workers=0), problems=problems)
        probe = probe_store(store, align)
        mels, cos = [], []
        for uid, codes in audiotok.open_tokens(str(store)):
            ref = audio.read(str(wavs / f"{uid}.wav"), tok.sample_rate)
            c = torch.from_numpy(np.asarray(codes, dtype=np.int64))
            deg = tok.decode(c)
            deg = deg.numpy() if hasattr(deg, "numpy") else np.asarray(deg)
            n = min(len(ref), len(deg))
            mels.append(mel_distance(ref[:n], deg[:n], tok.sample_rate))
            x = torch.from_numpy(ref)
            feats, _ = mfcc(x[None], torch.tensor([len(x)]))
            teacher = align_teacher(feats[0], 100.0, tok.frame_rate, c.shape[1])
            with torch.no_grad():
                student = model.transform(model.vq.stage(0).decode(c[:1]).transpose(1, 2))
            cos.append(float(teacher_cosine(student, teacher[None])))
        out[set_name] = {
            "pnmi_cb0": probe["codebooks"][0]["pnmi"],
            "pnmi_all": probe["prefixes"][-1]["pnmi"],
            "cb0_used": probe["codebooks"][0]["used"],
            "mel_distance": float(np.mean(mels)),
            "teacher_cosine": float(np.mean(cos)),
            "files": probe["aligned_utterances"],
        }
    return out


def mfcc_km100(sets: dict[str, tuple[Path, Path]], work: Path) -> dict[str, float]:
    import audiotok
    from audiotok.metrics.codebooks import probe_store
    from audiotok.pipeline import RunOptions, encode_corpus, scan_inputs

    tok = audiotok.load("mfcc-km100")
    out = {}
    for set_name, (wavs, align) in sets.items():
        store = work / f"tok_mfcc_km100_{set_name}"
        shutil.rmtree(store, ignore_errors=True)
        items, problems = scan_inputs([str(wavs)])
        encode_corpus(items, tok, store, options=RunOptions(num_workers=0), problems=problems)
        out[set_name] = probe_store(store, align)["codebooks"][0]["pnmi"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget per codec")
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: temp)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument(
        "--adv-start",
        type=int,
        default=10**9,
        help="step at which the GAN losses start (default: never; they shape "
        "acoustic detail, not codebook 0, and would take most of a CPU budget)",
    )
    args = results.add_options(ap).parse_args()
    if args.smoke:
        args.minutes = 0.05
    import torch

    torch.set_num_threads(args.threads)
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="hybrid_distill_")
        args.work = Path(tmp.name)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    n = 20 if args.smoke else 200  # a toy run checks that every step runs, on 16 + 4 files
    es = espeak_corpus(work, n)
    if es is None:
        results.finish(
            args, "hybrid_distill.py", [],
            "hybrid distill: skipped, espeak-ng or ../shared/tools/espeak_corpus.py is missing",
        )  # fmt: skip
        return 0
    train_dir, held_dir, held_align, _ = es
    sets = {"espeak_held": (held_dir, held_align)}
    lv = librivox(work)
    if lv is not None:
        sets["librivox"] = lv
    print(
        f"train: {n - n // 5} espeak utterances; held out: {n // 5} espeak + "
        f"{5 if lv else 0} LibriVox; "
        f"budget {args.minutes:g} min (first run), threads {args.threads}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    a = train("distilled", train_dir, work, 120.0, 10**9, args.minutes, args.lr, args.adv_start)
    steps = int(a["steps"])
    b = train("plain", train_dir, work, 0.0, steps, None, args.lr, args.adv_start)
    scores = {
        "distilled": {
            "steps": steps,
            "wall_s": a["wall_s"],
            **evaluate(work / "distilled", sets, work),
        },
        "plain": {
            "steps": int(b["steps"]),
            "wall_s": b["wall_s"],
            **evaluate(work / "plain", sets, work),
        },
    }
    km = mfcc_km100(sets, work)

    print(
        f"\n{'codec':<10} {'steps':>6} {'wall s':>7}  {'set':<12} {'PNMI cb0':>8} "
        f"{'PNMI 0..K':>9} {'cb0 used':>8} {'mel dist':>8} {'teacher cos':>11}"
    )
    for name, r in scores.items():
        for set_name in sets:
            m = r[set_name]
            print(
                f"{name:<10} {r['steps']:>6} {r['wall_s']:>7.0f}  {set_name:<12} "
                f"{m['pnmi_cb0']:>8.3f} {m['pnmi_all']:>9.3f} {m['cb0_used']:>8d} "
                f"{m['mel_distance']:>8.3f} {m['teacher_cosine']:>11.3f}"
            )
    for set_name, v in km.items():
        print(
            f"{'mfcc-km100':<10} {'':>6} {'':>7}  {set_name:<12} {v:>8.3f}   (teacher's own "
            "features, k=100, 100 Hz)"
        )
    d = scores["distilled"]["espeak_held"]["pnmi_cb0"]
    p = scores["plain"]["espeak_held"]["pnmi_cb0"]
    holds = d >= p + MARGIN
    print(
        f"\ncodebook-0 PNMI on held-out espeak: distilled {d:.3f} vs plain {p:.3f} "
        f"(difference {d - p:+.3f}; claim: at least +{MARGIN}): "
        f"{'HOLDS' if holds else 'DOES NOT HOLD'}"
    )
    (work / "results.json").write_text(
        json.dumps(
            {"results": scores, "mfcc_km100": km, "margin": MARGIN, "holds": holds}, indent=1
        )
    )
    if tmp is None:
        print(f"results in {work / 'results.json'}")
    rows = [{"line": f"{n} / {k}", **m} for n, r in scores.items() for k, m in r.items()
            if isinstance(m, dict)]  # fmt: skip
    results.finish(
        args, "hybrid_distill.py", rows,
        f"hybrid distill: codebook-0 PNMI on held-out espeak, distilled {d:.3f} vs plain "
        f"{p:.3f} (claim +{MARGIN}: {'holds' if holds else 'does NOT hold'})",
        met=holds,
    )  # fmt: skip
    return 0 if holds or args.smoke else 1  # toy runs check that it runs, not the claim


if __name__ == "__main__":
    sys.exit(main())
