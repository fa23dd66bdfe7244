"""Unit vocoders: decode (batched vs one utterance at a time) and training steps per second.

Decode (``benchmarks/vocoder_decode.py``'s comparison): a unit HiFi-GAN for 50 Hz k = 500
units (HuBERT-base's), V1 size (512 channels), random weights, random units in utterances of
2-10 s. Baseline: textlesslib's loop (``CodeHiFiGANVocoder.forward``: one utterance per call,
autograd on, ``.detach()`` after), each written as a 16-bit wav. Ours:
``audiotok.decoding.decode_units`` (padded length-sorted batches on a GPU, one by one at each
own length on the CPU), writing the same wavs.

Training: ``train_vocoder`` at its defaults (HiFi-GAN V1 generator, MPD + MSD, 0.56 s
segments, batch 16) on mfcc-km100 units of a synthesized corpus, through ``GanTrainer``
(``gpu_parts/training.py`` says what is timed).
"""

from __future__ import annotations

from typing import Any

from gpu_parts.common import Context, Figure, Item
from gpu_parts.training import captured_trainer, figure, train_corpus


def decode(ctx: Context) -> Figure:
    import numpy as np
    import torch

    from audiotok import audio
    from audiotok.decoding import decode_units
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.model import Vocoder

    s = ctx.sizes
    torch.manual_seed(ctx.seed)
    config = VocoderConfig(
        num_units=500, frame_rate=50, upsample_initial_channel=s.vocoder_channels
    )
    voc = Vocoder(config).eval().to(ctx.device)
    rng = np.random.default_rng(ctx.seed)
    lo, hi = (2.0, 10.0) if not ctx.smoke else (0.3, 0.6)
    items: list[tuple[str, Any]] = []
    while sum(len(u) for _, u in items) < s.decode_seconds * 50:
        n = int(rng.uniform(lo, hi) * 50)
        items.append((f"u{len(items):04d}", rng.integers(0, 500, n)))
    seconds = sum(len(u) for _, u in items) / 50
    out = ctx.tmp / "vocoder_decode"

    def loop(part: list[tuple[str, Any]]) -> None:
        for utt, u in part:  # textlesslib: vocoder(code) per utterance, autograd on
            wav = voc(torch.from_numpy(u)[None].to(ctx.device)).detach().squeeze()
            audio.write(str(out / "loop" / f"{utt}.wav"), wav.cpu().numpy(), voc.sample_rate)

    def ours(part: list[tuple[str, Any]]) -> int:
        return decode_units(part, voc, lambda utt: out / "batched" / f"{utt}.wav")

    loop(items[:1])  # warm-up, both
    ours(items[:1])
    t_loop, _ = ctx.timed(lambda: loop(items))
    t_ours, n = ctx.timed(lambda: ours(items))
    if n != len(items):
        raise RuntimeError(f"decode_units wrote {n} of {len(items)} utterances")
    worst = 0.0
    for utt, _ in items:
        a = audio.read(str(out / "loop" / f"{utt}.wav"))
        b = audio.read(str(out / "batched" / f"{utt}.wav"))
        worst = max(worst, float(np.abs(a - b).max()))
    return Figure(
        key="vocoder.decode",
        part="vocoder",
        title=f"vocoder decode_units ({s.vocoder_channels} ch)",
        audio_s_per_s=seconds / t_ours,
        baseline="one utterance at a time (textlesslib)",
        baseline_audio_s_per_s=seconds / t_loop,
        ratio=t_loop / t_ours,
        extra={
            "utterances": len(items),
            "audio_s": round(seconds, 1),
            "batched": not ctx.device.startswith("cpu"),
            "max_sample_diff": worst,
        },
    )


def train(ctx: Context) -> Figure:
    from audiotok import load
    from audiotok.pipeline import RunOptions, encode_corpus, scan_inputs
    from audiotok.train.config import override
    from audiotok.train.vocoder import train_vocoder
    from audiotok.train.vocoder_config import VocoderTrainConfig

    corpus = train_corpus(ctx)
    tokens = ctx.tmp / "vocoder_tokens"
    items, problems = scan_inputs([str(corpus)])
    s = encode_corpus(
        items, load("mfcc-km100"), tokens, options=RunOptions(num_workers=0), problems=problems
    )
    if s.errors:
        raise RuntimeError(f"encoding the training corpus failed: {s.errors}")
    w = ctx.sizes.train_window
    out = ctx.tmp / "vocoder_train"
    with captured_trainer() as box:
        cfg = override(
            VocoderTrainConfig(store=str(tokens), output=str(out)),
            {
                "schedule.steps": 2 * w,
                "schedule.log_every": w,
                "schedule.checkpoint_every": 2 * w,
                "device": ctx.device,
                "seed": ctx.seed,
                "data.num_workers": 0,
                "schedule.tensorboard": False,
                **ctx.sizes.vocoder_train,
            },
        )
        train_vocoder(cfg, progress=False)
    trainer = box["trainer"]
    voc = trainer.G.vocoder
    return figure(
        ctx,
        "vocoder.train",
        "vocoder",
        f"vocoder training ({voc.config.upsample_initial_channel} ch, batch "
        f"{trainer.task.batch_size})",
        trainer,
        out,
        voc.sample_rate,
    )


ITEMS = [
    Item("vocoder.decode", "vocoder", "vocoder decode", ("soundfile",), decode),
    Item("vocoder.train", "vocoder", "vocoder training", ("soundfile", "soxr", "pyarrow"), train),
]
