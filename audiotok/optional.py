"""Imports of optional packages whose failure must read as one line, not a traceback per file.

torchaudio is the one that fails in a confusing way: its wheels carry a compiled library built
for one torch release, and pip happily installs a torchaudio beside a torch it cannot load
with (``undefined symbol`` or a missing ``libc10_cuda.so``). audiotok's base path never needs
it; the few opt-in paths that do (importing a fairseq checkpoint's key names) go through
:func:`import_torchaudio`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from audiotok.errors import AudiotokError


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def import_torchaudio(module: str = "torchaudio", purpose: str = "this") -> ModuleType:
    """``importlib.import_module(module)`` (a torchaudio module), or one line that names the
    installed torch/torchaudio pair and the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if "torchaudio" not in str(e) and not isinstance(e, ModuleNotFoundError):
            raise
        if _version("torchaudio") == "not installed":
            raise AudiotokError(
                f"{purpose} needs torchaudio, which is not installed: "
                "pip install torchaudio (the release of the same minor version as your torch)"
            ) from None
        reason = str(e).splitlines()[0]
    except OSError as e:
        reason = str(e).splitlines()[0]
    torch_v, ta_v = _version("torch"), _version("torchaudio")
    raise AudiotokError(
        f"{purpose} needs torchaudio, but torchaudio {ta_v} does not load beside torch "
        f"{torch_v} ({reason}): its compiled library was built for another torch; install "
        "the torchaudio of the same minor version and build (CPU/CUDA) as your torch, from the "
        "index your torch came from"
    )
