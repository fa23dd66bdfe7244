"""The GAN training loop shared by audiotok's trainers.

A :class:`GanTask` owns the models and the data: ``generator`` and ``discriminator`` modules
(the discriminator maps a waveform batch ``[B, 1, T]`` to ``(logits, feature maps)`` lists),
``batches(start_step, dist)``, ``generator_step`` (runs the generator on a batch and returns
the generated and real waveforms plus its own weighted losses: mel, duration, ...),
``evaluate`` (held-out metrics) and ``export`` (inference weights). :class:`GanTrainer` runs
HiFi-GAN's step order (generator forward; discriminator update on real vs detached fake;
generator update with its losses + LSGAN + feature matching), with AdamW and an exponential
LR decay (HiFi-GAN: lr 2e-4, betas (0.8, 0.99), decay 0.999 per epoch, which here is per
``lr_decay_every`` steps, spread over the steps), optional gradient clipping, autocast on
bf16/fp16 with a grad scaler for fp16, checkpoints (:mod:`audiotok.train.checkpoint`), exact
resume, and DDP when launched by ``torchrun``.

Randomness: the task seeds model construction; on a fresh run the trainer then reseeds the
training RNG with ``seed + 7919 * rank``; checkpoints keep rank 0's RNG state, so a resumed
single-process run continues bit for bit (other ranks reseed with the step added).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from audiotok.errors import AudiotokError
from audiotok.train import checkpoint as ckpt
from audiotok.train import dist
from audiotok.train.config import OptimConfig, ScheduleConfig
from audiotok.train.losses import discriminator_loss, feature_matching_loss, generator_loss

AMP_MODES = ("none", "bf16", "fp16")


_OPTIM, _SCHEDULE = OptimConfig(), ScheduleConfig()


@dataclass
class TrainConfig:
    """What the loop needs, flat: :func:`engine_config` fills it from a solver config's
    ``optim`` and ``schedule`` parts (:mod:`audiotok.train.config`), whose defaults it takes."""

    steps: int
    seed: int = 0
    device: str = "cpu"
    lr: float = _OPTIM.lr
    betas: tuple[float, float] = _OPTIM.betas
    weight_decay: float = _OPTIM.weight_decay
    lr_decay: float = _OPTIM.lr_decay
    lr_decay_every: int = _OPTIM.lr_decay_every
    grad_clip: float | None = _OPTIM.grad_clip
    amp: str = _OPTIM.amp
    adv_weight: float = 1.0
    fm_weight: float = 2.0
    adv_start: int = _OPTIM.adv_start  # steps with the task's own losses only, then GAN losses
    checkpoint_every: int = _SCHEDULE.checkpoint_every
    keep_checkpoints: int = _SCHEDULE.keep_checkpoints  # the newest whole; older: generator only
    log_every: int = _SCHEDULE.log_every
    eval_every: int = _SCHEDULE.eval_every  # 0: at every checkpoint
    max_minutes: float | None = _SCHEDULE.max_minutes  # stop (evaluate, checkpoint) after this
    progress: bool = True
    tensorboard: bool | None = _SCHEDULE.tensorboard  # None: when tensorboard is importable

    def check(self) -> None:
        if self.amp not in AMP_MODES:
            raise AudiotokError(f"unknown --amp {self.amp!r}: use one of {', '.join(AMP_MODES)}")
        if self.steps < 0 or self.checkpoint_every < 1 or self.log_every < 1:
            raise AudiotokError("steps must be >= 0 and checkpoint/log intervals >= 1")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise AudiotokError("--grad-clip must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def engine_config(cfg: Any, device: str, progress: bool, **extra: Any) -> TrainConfig:
    """The loop's :class:`TrainConfig` from a solver config's ``optim``, ``schedule`` and
    ``seed``."""
    o, s = cfg.optim, cfg.schedule
    return TrainConfig(
        steps=s.steps,
        seed=cfg.seed,
        device=device,
        lr=o.lr,
        betas=tuple(o.betas),
        weight_decay=o.weight_decay,
        lr_decay=o.lr_decay,
        lr_decay_every=o.lr_decay_every,
        grad_clip=o.grad_clip,
        amp=o.amp,
        adv_start=o.adv_start,
        checkpoint_every=s.checkpoint_every,
        keep_checkpoints=s.keep_checkpoints,
        log_every=s.log_every,
        eval_every=s.eval_every,
        max_minutes=s.max_minutes,
        progress=progress,
        tensorboard=s.tensorboard,
        **extra,
    )


class GanTask(Protocol):
    generator: nn.Module
    discriminator: nn.Module

    def batches(self, start_step: int, info: dist.DistInfo) -> Iterator[Any]: ...

    def generator_step(
        self, generator: nn.Module, batch: Any, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]: ...

    def evaluate(self, generator: nn.Module, step: int) -> dict[str, float]: ...

    def export(self, generator: nn.Module, step: int) -> None: ...


class GanTrainer:
    def __init__(self, task: GanTask, config: TrainConfig, out_dir: str | Path):
        config.check()
        self.task, self.cfg, self.out = task, config, Path(out_dir)
        self.ckpt_root = self.out / "checkpoints"
        self.info = dist.from_env()
        self.device = dist.device_for(self.info, config.device)
        if config.amp == "fp16" and self.device.type != "cuda":
            raise AudiotokError("--amp fp16 needs a CUDA device; use --amp bf16 on the CPU")
        self.G = task.generator.to(self.device)
        self.D = task.discriminator.to(self.device)
        opt = dict(lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
        self.opt_g = torch.optim.AdamW(self.G.parameters(), **opt)  # type: ignore[arg-type]
        self.opt_d = torch.optim.AdamW(self.D.parameters(), **opt)  # type: ignore[arg-type]
        gamma = config.lr_decay ** (1.0 / config.lr_decay_every)
        self.sched_g = torch.optim.lr_scheduler.ExponentialLR(self.opt_g, gamma)
        self.sched_d = torch.optim.lr_scheduler.ExponentialLR(self.opt_d, gamma)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=config.amp == "fp16")
        self.Gw: nn.Module = self.G
        self.Dw: nn.Module = self.D

    # --- state -----------------------------------------------------------------------------
    def _modules(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D}

    def state(self) -> dict[str, Any]:
        return {
            "optim_g": self.opt_g.state_dict(),
            "optim_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(self.device),
        }

    def _restore(self) -> int:
        path = ckpt.latest(self.ckpt_root)
        if path is None:
            raise AudiotokError(
                f"--resume: {self.ckpt_root} holds no checkpoint; start without --resume"
            )
        state = ckpt.load(path, self._modules(), self.device)
        self.opt_g.load_state_dict(state["optim_g"])
        self.opt_d.load_state_dict(state["optim_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.scaler.load_state_dict(state["scaler"])
        step = int(state["step"])
        if self.info.is_main:
            ckpt.set_rng_state(state["rng"], self.device)
        else:
            torch.manual_seed(self.cfg.seed + 7919 * self.info.rank + step)
        return step

    def _save(self, step: int) -> int:
        """Bytes of the checkpoint written (0 outside the main process)."""
        if not self.info.is_main:
            return 0
        path = ckpt.save(self.ckpt_root, step, self._modules(), self.state())
        size = ckpt.size_of(path)
        ckpt.prune(self.ckpt_root, self.cfg.keep_checkpoints)
        self.task.export(self.G, step)
        return size

    # --- one step ----------------------------------------------------------------------------
    def _autocast(self) -> Any:
        if self.cfg.amp == "none":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.cfg.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _clip(self, opt: torch.optim.Optimizer, module: nn.Module) -> float:
        self.scaler.unscale_(opt)
        limit = self.cfg.grad_clip if self.cfg.grad_clip is not None else math.inf
        return float(torch.nn.utils.clip_grad_norm_(module.parameters(), limit))

    @contextlib.contextmanager
    def _d_for_generator(self) -> Iterator[None]:
        """The discriminator inside the generator update: no DDP gradient sync (its gradients
        are discarded), and in one process no parameter gradients at all."""
        if self.info.enabled:
            with self.Dw.no_sync():  # type: ignore[operator]
                yield
            return
        flags = [p.requires_grad for p in self.D.parameters()]
        self.D.requires_grad_(False)
        try:
            yield
        finally:
            for p, f in zip(self.D.parameters(), flags, strict=True):
                p.requires_grad_(f)

    def train_step(self, step: int, batch: Any) -> dict[str, float]:
        cfg, out = self.cfg, {}
        with self._autocast():
            fake, real, losses = self.task.generator_step(self.Gw, batch, self.device)
        total = sum(losses.values(), torch.zeros((), device=self.device))
        adversarial = step >= cfg.adv_start and (cfg.adv_weight > 0 or cfg.fm_weight > 0)
        self.opt_g.zero_grad(set_to_none=True)
        if adversarial:
            b = real.shape[0]
            with self._autocast():
                logits, _ = self.Dw(torch.cat([real, fake.detach()]))
            loss_d = discriminator_loss([x[:b] for x in logits], [x[b:] for x in logits])
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(loss_d).backward()
            out["grad_norm_d"] = self._clip(self.opt_d, self.D)
            self.scaler.step(self.opt_d)
            out["loss_d"] = float(loss_d.detach())
            with self._d_for_generator():
                with torch.no_grad(), self._autocast():
                    _, real_fmaps = self.Dw(real)
                with self._autocast():
                    fake_logits, fake_fmaps = self.Dw(fake)
                adv = generator_loss(fake_logits)
                fm = feature_matching_loss(real_fmaps, fake_fmaps)
                total = total + cfg.adv_weight * adv + cfg.fm_weight * fm
                self.scaler.scale(total).backward()
            out["loss_adv"], out["loss_fm"] = float(adv.detach()), float(fm.detach())
        else:
            self.scaler.scale(total).backward()
        out["grad_norm_g"] = self._clip(self.opt_g, self.G)
        self.scaler.step(self.opt_g)
        self.scaler.update()
        self.sched_g.step()
        if adversarial:
            self.sched_d.step()
        out.update({f"loss_{k}": float(v.detach()) for k, v in losses.items()})
        out["loss_g"] = float(total.detach())
        out["lr"] = float(self.sched_g.get_last_lr()[0])
        return out

    def _out_of_time(self, started: float) -> bool:
        """True once ``max_minutes`` have passed (all ranks agree: rank 0's clock decides)."""
        if self.cfg.max_minutes is None:
            return False
        flag = torch.tensor(float(time.monotonic() - started > 60 * self.cfg.max_minutes))
        if self.info.enabled:
            import torch.distributed as td

            flag = flag.to(self.device)
            td.broadcast(flag, src=0)
        return bool(flag)

    # --- the run -------------------------------------------------------------------------------
    def run(self, resume: bool = False) -> dict[str, Any]:
        from audiotok.train.logs import MetricsLog, Progress

        cfg, info = self.cfg, self.info
        dist.init(info, self.device)
        if resume:
            start = self._restore()
        else:
            if ckpt.list_steps(self.ckpt_root):
                raise AudiotokError(
                    f"{self.out} already holds checkpoints: pass --resume to continue that run, "
                    "or write to a new folder"
                )
            start = 0
            torch.manual_seed(cfg.seed + 7919 * info.rank)
        if info.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.Gw = DDP(self.G, device_ids=ids)
            self.Dw = DDP(self.D, device_ids=ids)
        log = MetricsLog(self.out, cfg.tensorboard) if info.is_main else None
        summary: dict[str, Any] = {
            "start_step": start,
            "steps": max(start, cfg.steps),
            "world_size": info.world_size,
        }
        eval_every = cfg.eval_every or cfg.checkpoint_every

        def evaluate(step: int) -> None:
            if info.is_main and log is not None:
                values = self.task.evaluate(self.G, step)
                self.G.train()
                log.write(step, values)
                summary.setdefault("first_eval", {"step": step, **values})
                summary["last_eval"] = {"step": step, **values}
            dist.barrier(info)

        if start == 0 and cfg.steps > 0:
            evaluate(0)
        progress = Progress(cfg.steps, start, enabled=cfg.progress and info.is_main)
        batches = self.task.batches(start, info)
        sums: dict[str, float] = {}
        count, t0 = 0, time.monotonic()
        started = t0
        self.G.train()
        self.D.train()
        try:
            for step in range(start, cfg.steps):
                values = self.train_step(step, next(batches))
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                s = step + 1
                last = s == cfg.steps or self._out_of_time(started)
                if s % cfg.log_every == 0 or last:
                    means = {f"train/{k}": v / count for k, v in sums.items()}
                    means["train/steps_per_s"] = count / max(1e-9, time.monotonic() - t0)
                    if log is not None:
                        log.write(s, means)
                    shown = ("train/loss_g", "train/loss_mel", "train/loss_d")
                    progress.update(s, {k[6:]: means[k] for k in shown if k in means})
                    sums, count, t0 = {}, 0, time.monotonic()
                else:
                    progress.update(s)
                if s % eval_every == 0 or last:
                    evaluate(s)
                if s % cfg.checkpoint_every == 0 or last:
                    size = self._save(s)
                    if log is not None:  # the training log says what a checkpoint costs
                        log.write(s, {"checkpoint/MB": size / 1e6})
                    summary["checkpoint_bytes"] = size
                    dist.barrier(info)
                summary["steps"] = s
                if last:
                    break
        finally:
            progress.close()
            if log is not None:
                log.close()
        summary["replica_max_diff"] = dist.check_in_sync(self.G, info)
        if summary["replica_max_diff"] > 0:
            raise AudiotokError(
                f"DDP replicas differ by {summary['replica_max_diff']:.3g} after training"
            )
        return summary
