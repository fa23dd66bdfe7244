"""The GAN loop on a toy task: clipping, mixed precision, logs, progress, DDP over gloo."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from audiotok.errors import AudiotokError
from audiotok.train.data import step_batches
from audiotok.train.engine import GanTrainer, TrainConfig
from audiotok.train.multi import build_discriminator


class ToyData(torch.utils.data.Dataset):
    """Item (epoch, i): a 2048-sample sine of frequency 200 + 50 i Hz at 16 kHz."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, key):
        _, i = key
        t = torch.arange(2048) / 16000
        return torch.sin(2 * torch.pi * (200 + 50 * i) * t)[None]


class ToyTask:
    """Generator: a conv net from a fixed noise input to the waveform; loss: L1."""

    def __init__(self, seed: int = 0):
        torch.manual_seed(seed)
        self.generator = nn.Sequential(
            nn.Conv1d(1, 8, 9, padding=4), nn.Tanh(), nn.Conv1d(8, 1, 9, padding=4)
        )
        self.discriminator = build_discriminator(("mpd",), width=1 / 32)
        self.noise = torch.randn(1, 1, 2048, generator=torch.Generator().manual_seed(1))
        self.exports = []

    def batches(self, start_step, info):
        return step_batches(
            ToyData(),
            batch_size=2,
            seed=0,
            start_step=start_step,
            rank=info.rank,
            world_size=info.world_size,
            collate_fn=torch.stack,
        )

    def generator_step(self, generator, batch, device):
        real = batch.to(device)
        fake = generator(self.noise.to(device).expand(real.shape[0], -1, -1))
        return fake, real, {"l1": (fake - real).abs().mean()}

    def evaluate(self, generator, step):
        with torch.no_grad():
            return {"valid/out_std": float(generator(self.noise).std())}

    def export(self, generator, step):
        self.exports.append(step)


def test_step_batches_are_a_function_of_the_step():
    full = list(
        zip(
            range(9),
            step_batches(ToyData(), batch_size=2, seed=3, collate_fn=torch.stack),
            strict=False,
        )
    )
    later = step_batches(ToyData(), batch_size=2, seed=3, start_step=5, collate_fn=torch.stack)
    for step in range(5, 9):
        assert torch.equal(next(later), full[step][1])
    with pytest.raises(AudiotokError, match="lower --batch-size"):
        next(step_batches(ToyData(), batch_size=16, seed=0))


def test_loop_logs_checkpoints_and_reports_plain_progress(tmp_path, capsys):
    task = ToyTask()
    cfg = TrainConfig(steps=4, checkpoint_every=2, log_every=2, tensorboard=None)
    summary = GanTrainer(task, cfg, tmp_path).run()
    assert task.exports == [2, 4]
    assert summary["first_eval"]["step"] == 0 and summary["last_eval"]["step"] == 4
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "train/loss_l1" in r] == [2, 4]
    assert all(
        k in records[1] for k in ("train/loss_d", "train/loss_fm", "train/grad_norm_g", "train/lr")
    )
    err = capsys.readouterr().err  # stderr is not a TTY under pytest: plain lines
    assert "training step 2/4" in err and "training step 4/4" in err
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        assert not (tmp_path / "tb").exists()
    else:
        assert any((tmp_path / "tb").iterdir())


def test_gradient_clipping_bounds_the_norm(tmp_path):
    task = ToyTask()
    trainer = GanTrainer(task, TrainConfig(steps=1, grad_clip=1e-3, progress=False), tmp_path)
    fake, real, losses = task.generator_step(
        trainer.G, next(task.batches(0, trainer.info)), trainer.device
    )
    (1e3 * losses["l1"]).backward()
    before = trainer._clip(trainer.opt_g, trainer.G)
    after = torch.norm(torch.stack([p.grad.norm() for p in trainer.G.parameters()]))
    assert before > 1.0 and float(after) <= 1e-3 * (1 + 1e-4)


def test_mixed_precision_modes(tmp_path):
    with pytest.raises(AudiotokError, match="fp16 needs a CUDA device"):
        GanTrainer(ToyTask(), TrainConfig(steps=1, amp="fp16"), tmp_path / "a")
    with pytest.raises(AudiotokError, match="unknown --amp"):
        GanTrainer(ToyTask(), TrainConfig(steps=1, amp="fp8"), tmp_path / "b")
    trainer = GanTrainer(
        ToyTask(), TrainConfig(steps=1, amp="bf16", progress=False), tmp_path / "c"
    )
    values = trainer.train_step(0, next(trainer.task.batches(0, trainer.info)))
    assert all(torch.isfinite(torch.tensor(v)) for v in values.values())
    with trainer._autocast():
        assert trainer.G(torch.randn(1, 1, 64)).dtype == torch.bfloat16


DDP_SCRIPT = """
import json, sys, torch
torch.set_num_threads(1)
sys.path.insert(0, {here!r})
from test_engine import ToyTask
from audiotok.train.engine import GanTrainer, TrainConfig
cfg = TrainConfig(steps=3, checkpoint_every=3, progress=False, tensorboard=False)
s = GanTrainer(ToyTask(), cfg, {out!r}).run()
print(json.dumps({{"diff": s["replica_max_diff"], "world": s["world_size"]}}))
"""


@pytest.mark.slow  # two fresh Python + torch processes: 10 to 30 s on a shared 2-core machine
def test_ddp_two_processes_on_gloo(tmp_path):
    """Two ranks as torchrun starts them (WORLD_SIZE, RANK, MASTER_*): each trains on its own
    share of the data; the trainer's own check after training finds the replicas equal (it
    raises otherwise), which holds only if DDP averaged the gradients."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = DDP_SCRIPT.format(here=str(Path(__file__).parent), out=str(tmp_path))
    procs = []
    for rank in range(2):
        env = {
            **os.environ,
            "WORLD_SIZE": "2",
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        result = json.loads(out.strip().splitlines()[-1])
        assert result == {"diff": 0.0, "world": 2}
    assert (tmp_path / "checkpoints" / "step-00000003" / "generator.safetensors").is_file()


def test_checkpoints_are_sized_for_a_disk(tmp_path):
    """The newest checkpoint keeps what resuming needs, older ones the generator only, at most
    keep_checkpoints of them; the training log says what each costs (#25)."""
    from audiotok.train import checkpoint as ckpt

    cfg = TrainConfig(steps=6, checkpoint_every=2, log_every=2, progress=False,
                      tensorboard=False, keep_checkpoints=2)  # fmt: skip
    summary = GanTrainer(ToyTask(), cfg, tmp_path).run()
    root = tmp_path / "checkpoints"
    assert ckpt.all_steps(root) == [4, 6] and ckpt.list_steps(root) == [6]
    assert sorted(f.name for f in (root / "step-00000004").iterdir()) == ["generator.safetensors"]
    assert sorted(f.name for f in (root / "step-00000006").iterdir()) == [
        "discriminator.safetensors", "generator.safetensors", ckpt.STATE]  # fmt: skip
    records = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    sizes = {r["step"]: r["checkpoint/MB"] for r in records if "checkpoint/MB" in r}
    assert sorted(sizes) == [2, 4, 6]
    assert summary["checkpoint_bytes"] == ckpt.size_of(root / "step-00000006")
    assert sizes[6] == pytest.approx(summary["checkpoint_bytes"] / 1e6)
