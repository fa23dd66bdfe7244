"""Unit vocoders: semantic units back to audio (``audiotok.vocoders``).

    import audiotok.vocoders as V
    voc = V.load("voc/")                       # folder with config.json + model.safetensors
    wav, wav_lengths = voc.decode(units, lengths, speaker=None, durations=None)

Decoding a store or a unit file goes through the one decode path,
:mod:`audiotok.decoding` (``decode_store(store, voc, "wavs/")``).

Importing this package imports no torch; models load on first use. Training lives in the
training kit (:mod:`audiotok.train.vocoder`); no module of this package imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audiotok.vocoders.config import VocoderConfig
    from audiotok.vocoders.model import Vocoder

__all__ = [
    "Vocoder",
    "VocoderConfig",
    "check_tokens",
    "load",
    "read_unit_file",
    "unit_error_rate",
]


def load(name_or_path: str, device: str = "cpu", allow_pickle: bool = False) -> Vocoder:
    """A vocoder from a folder (config.json + model.safetensors) or a registry name."""
    from audiotok.vocoders.loading import load as _load

    return _load(name_or_path, device=device, allow_pickle=allow_pickle)


def check_tokens(vocoder: Any, spec: Any, recipe: dict[str, Any] | None = None) -> None:
    """Raise AudiotokError naming both when tokens of ``spec`` are not the vocoder's."""
    from audiotok.vocoders.config import check_tokens as _check

    _check(getattr(vocoder, "config", vocoder), spec, recipe)


def __getattr__(name: str) -> Any:
    import importlib

    where = {
        "Vocoder": "model",
        "VocoderConfig": "config",
        "read_unit_file": "units_file",
        "unit_error_rate": "resynth",
    }
    if name in where:
        return getattr(importlib.import_module(f"audiotok.vocoders.{where[name]}"), name)
    raise AttributeError(f"module 'audiotok.vocoders' has no attribute {name!r}")
