"""Saving and loading vocoders: a folder with ``config.json`` + ``model.safetensors``.

``load(name_or_path)`` takes such a folder (or its config.json), or a registry name (kind
``vocoder``). Released vocoders are pickles: they are converted once into
``$AUDIOTOK_HOME/<name>/audiotok/`` by ``audiotok vocoder import`` (or ``allow_pickle=True``:
the registry builder, :func:`audiotok.vocoders.importer.build_released`)
and loaded from there as safetensors afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from audiotok.errors import AudiotokError
from audiotok.vocoders.config import CONFIG_FILE, WEIGHTS_FILE, VocoderConfig

if TYPE_CHECKING:
    import torch

    from audiotok.vocoders.model import Vocoder

CONVERTED = "audiotok"  # subfolder of a released vocoder's cache folder


def save(
    vocoder: Vocoder, directory: str | Path, state: dict[str, torch.Tensor] | None = None
) -> Path:
    """Write ``config.json`` and ``model.safetensors`` (``state`` defaults to the vocoder's
    own state dict, which must be free of weight-norm parametrisations)."""
    from audiotok.store.files import save_safetensors

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tensors = state if state is not None else vocoder.state_dict()
    bad = [k for k in tensors if "parametrizations" in k]
    if bad:
        raise ValueError(f"fold weight norm before saving (found {bad[0]})")
    save_safetensors({k: v.detach().contiguous().cpu() for k, v in tensors.items()},
                     out / WEIGHTS_FILE)  # fmt: skip
    vocoder.config.save(out)
    return out


def load_folder(directory: str | Path, device: str = "cpu") -> Vocoder:
    import torch
    from safetensors.torch import load_file

    from audiotok.vocoders.model import Vocoder

    d = Path(directory)
    if d.is_file() and d.name == CONFIG_FILE:
        d = d.parent
    if not (d / CONFIG_FILE).is_file() or not (d / WEIGHTS_FILE).is_file():
        raise AudiotokError(
            f"{d} is not a vocoder folder: it needs {CONFIG_FILE} and {WEIGHTS_FILE} (train one "
            "with `audiotok vocoder train`, or convert a released one with `audiotok vocoder "
            "import`)"
        )
    from audiotok.folder_formats import require

    require(d, "vocoder")
    config = VocoderConfig.load(d)
    try:
        with torch.device("meta"):  # no memory: sizes in a config allocate nothing here
            model = Vocoder(config)
    except (RuntimeError, ValueError, TypeError, OverflowError) as e:
        why = " ".join(str(e).split())[:200]
        raise AudiotokError(f"{d / CONFIG_FILE} does not describe a vocoder: {why}") from None
    try:
        state = load_file(str(d / WEIGHTS_FILE), device=str(device))
    except Exception as e:  # noqa: BLE001 - safetensors' own error type is not importable
        why = " ".join(str(e).split())[:200]
        raise AudiotokError(
            f"{d / WEIGHTS_FILE} is not a readable safetensors file: {why}"
        ) from None
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        why = " ".join(str(e).split())[:300]
        raise AudiotokError(f"{d / WEIGHTS_FILE} does not match {d / CONFIG_FILE}: {why}") from None
    return model.eval()


def load(name_or_path: str | Path, device: str = "cpu", allow_pickle: bool = False) -> Vocoder:
    """A vocoder from a folder (config.json + model.safetensors) or a registry name."""
    from audiotok.tokenizer import resolve_device

    device = resolve_device(device)
    p = Path(name_or_path).expanduser()
    if p.exists():
        return load_folder(p, device)
    from audiotok import registry
    from audiotok.errors import UnknownModelError

    try:
        entry = registry.get(str(name_or_path))
    except UnknownModelError:
        s = str(name_or_path)
        if "/" in s or os.sep in s or s.startswith((".", "~")) or p.suffix:  # meant as a path
            raise AudiotokError(
                f"vocoder {s}: no such folder (a vocoder is a folder holding config.json and "
                "model.safetensors, or a name of `audiotok models list --kind vocoder`)"
            ) from None
        raise
    if entry.kind != "vocoder":
        raise AudiotokError(f"{entry.name!r} is a {entry.kind} model, not a vocoder")
    return entry.build(device=device, allow_pickle=allow_pickle)
