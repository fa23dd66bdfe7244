"""Training checkpoints: weights as safetensors, the rest in a ``weights_only`` torch file.

A checkpoint is a folder ``checkpoints/step-NNNNNNNN/`` holding one ``<name>.safetensors`` per
module (the generator, the discriminator, ...) and ``state.pt``: step, optimizer, scheduler and
grad-scaler state, and the RNG states, all tensors and plain Python values, so it loads with
``torch.load(weights_only=True)``. The folder is written under a temporary name and renamed,
so a crash leaves either the whole checkpoint or none.

Checkpoints are sized for a disk: only the newest keeps what resuming needs (every module and
``state.pt``, whose optimizer state is twice the size of the weights it trains); older kept
checkpoints are slimmed to the weights named in ``prune``'s ``weights_of_old`` (the generator:
what evaluation and export use), and only the ``keep`` newest are kept at all.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from audiotok.store.files import save_safetensors

STATE = "state.pt"
_STEP_DIR = re.compile(r"^step-(\d{8})$")


def step_dir(root: Path, step: int) -> Path:
    return root / f"step-{step:08d}"


def save(root: Path, step: int, modules: dict[str, nn.Module], state: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    final = step_dir(root, step)
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, module in modules.items():
            tensors = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
            save_safetensors(tensors, tmp / f"{name}.safetensors")
        torch.save({**state, "step": step}, tmp / STATE)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    except RuntimeError as e:  # torch's zip writer on a full disk: no errno, odd words
        shutil.rmtree(tmp, ignore_errors=True)
        from audiotok.errors import write_failed

        raise write_failed(tmp / STATE, str(e)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def all_steps(root: Path) -> list[int]:
    """Steps of every checkpoint folder, whole or slimmed."""
    if not root.is_dir():
        return []
    return sorted(int(m.group(1)) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)))


def size_of(path: Path) -> int:
    """Bytes of the files of a checkpoint folder."""
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def list_steps(root: Path) -> list[int]:
    """Steps of the checkpoints a run can resume from (with ``state.pt``)."""
    if not root.is_dir():
        return []
    steps = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and (p / STATE).is_file():
            steps.append(int(m.group(1)))
    return sorted(steps)


def latest(root: Path) -> Path | None:
    steps = list_steps(root)
    return step_dir(root, steps[-1]) if steps else None


def load(path: Path, modules: dict[str, nn.Module], device: torch.device) -> dict[str, Any]:
    """Load weights into ``modules`` (strict) and return the state (``weights_only=True``)."""
    for name, module in modules.items():
        module.load_state_dict(load_file(str(path / f"{name}.safetensors"), device=str(device)))
    return torch.load(path / STATE, map_location="cpu", weights_only=True)


def prune(root: Path, keep: int, weights_of_old: tuple[str, ...] = ("generator",)) -> None:
    """Delete all but the ``keep`` newest checkpoints (``keep <= 0`` keeps all), and slim every
    one but the newest resumable checkpoint to the weights of ``weights_of_old``."""
    steps = all_steps(root)
    if keep > 0:
        for step in steps[:-keep]:
            shutil.rmtree(step_dir(root, step), ignore_errors=True)
        steps = steps[-keep:]
    resumable = list_steps(root)
    newest = resumable[-1] if resumable else None
    for step in steps:
        if step == newest:
            continue
        d = step_dir(root, step)
        for f in d.iterdir():
            if f.name == STATE or (f.suffix == ".safetensors" and f.stem not in weights_of_old):
                f.unlink()
        if not any(d.iterdir()):
            d.rmdir()


def rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
