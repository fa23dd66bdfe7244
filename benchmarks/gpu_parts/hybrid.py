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
    from audiotok.train.config import override
    from audiotok.train.hybrid import train_hybrid
    from audiotok.train.hybrid_config import HybridTrainConfig

    corpus = train_corpus(ctx)
    w = ctx.sizes.train_window
    out = ctx.tmp / "hybrid_train"
    with captured_trainer() as box:
        cfg = override(
            HybridTrainConfig(inputs=[str(corpus)], output=str(out)),
            {
                "schedule.steps": 2 * w,
                "teacher.name": "mfcc",
                "schedule.log_every": w,
                "schedule.checkpoint_every": 2 * w,
                "device": ctx.device,
                "seed": ctx.seed,
                "data.num_workers": 0 if ctx.smoke else 2,
                "data.valid_max": 2,
                "schedule.tensorboard": False,
                **ctx.sizes.hybrid_train,
            },
        )
        train_hybrid(cfg, progress=False)
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
