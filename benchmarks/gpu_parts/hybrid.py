"""Hybrid codec training steps per second: ``train_hybrid`` (SpeechTokenizer-style student,
distilled to a teacher) through ``GanTrainer``.

At the trainer's defaults (the released SpeechTokenizer config: SEANet encoder with a BiLSTM,
8 RVQ codebooks of 1024, 3 s segments, batches of 6, MPD + MSD + MS-STFT discriminators),
except the teacher: ``mfcc`` (HuBERT's weights cannot be downloaded here; the teacher runs
once before training, so it does not change the step's speed, only the projection's width).
``gpu_parts/training.py`` says what is timed.
"""

from __future__ import annotations

from gpu_parts.common import Context, Figure, Item
from gpu_parts.training import captured_trainer, figure, train_corpus


def train(ctx: Context) -> Figure:
    from audiotok.codecs.hybrid_train import train_hybrid

    corpus = train_corpus(ctx)
    w = ctx.sizes.train_window
    out = ctx.tmp / "hybrid_train"
    with captured_trainer() as box:
        train_hybrid(
            [corpus],
            out,
            steps=2 * w,
            teacher="mfcc",
            log_every=w,
            checkpoint_every=2 * w,
            device=ctx.device,
            seed=ctx.seed,
            num_workers=0 if ctx.smoke else 2,
            valid_max=2,
            progress=False,
            tensorboard=False,
            **ctx.sizes.hybrid_train,
        )
    trainer = box["trainer"]
    sr = trainer.task.index.sample_rate
    return figure(
        ctx,
        "hybrid.train",
        "hybrid",
        f"hybrid codec training (batch {trainer.task.batch_size})",
        trainer,
        out,
        sr,
    )


ITEMS = [
    Item(
        "hybrid.train",
        "hybrid",
        "hybrid codec training",
        ("soundfile", "soxr", "pyarrow", "safetensors"),
        train,
    )
]
