"""Distributed data parallel under ``torchrun``: rank facts, process group, sync checks.

``torchrun`` sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; a plain ``python`` run has none of them and trains in one process. The
backend is NCCL on CUDA and gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as td


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)


def init(info: DistInfo, device: torch.device) -> None:
    """Join the process group (no-op in one process, or when already joined)."""
    if not info.enabled or td.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    td.init_process_group(backend, rank=info.rank, world_size=info.world_size)


def device_for(info: DistInfo, device: str) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` when training on CUDA under torchrun."""
    dev = torch.device(device)
    if dev.type == "cuda" and info.enabled:
        dev = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(dev)
    return dev


def barrier(info: DistInfo) -> None:
    if info.enabled and td.is_initialized():
        td.barrier()


def check_in_sync(module: torch.nn.Module, info: DistInfo) -> float:
    """Largest |parameter - rank 0's parameter| over all ranks (0.0 in one process).

    DDP keeps replicas equal by averaging gradients; a difference means the replicas trained
    apart (a parameter outside DDP, or ranks that ran different steps)."""
    if not info.enabled:
        return 0.0
    worst = torch.zeros((), dtype=torch.float64)
    for p in module.parameters():
        ref = p.detach().clone()
        td.broadcast(ref, src=0)
        worst = torch.maximum(worst, (p.detach() - ref).abs().max().double().cpu())
    worst = worst.to(next(module.parameters()).device)
    td.all_reduce(worst, op=td.ReduceOp.MAX)
    return float(worst)


def shutdown(info: DistInfo) -> None:
    if info.enabled and td.is_initialized():
        td.destroy_process_group()
