"""Which code does the packed feed's token work: numpy (always there) or the compiled kernels
of ``audiotok.feed.numba_kernels`` (``pip install 'audiotok[fast]'``: numba). Both give the
same batches; the compiled ones read and write each token once.

``kernels="auto"`` (the datasets' default) takes numba when it is installed and imports,
``"numpy"`` never, ``"numba"`` insists (an error naming the extra when numba is missing).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from audiotok.errors import AudiotokError

__all__ = ["KERNELS", "check", "load"]

KERNELS = ("auto", "numpy", "numba")


def check(choice: str) -> bool:
    """Whether ``choice`` means the compiled kernels here (without importing numba); raises
    for an unknown choice, or ``"numba"`` without numba."""
    if choice not in KERNELS:
        raise AudiotokError(f"kernels must be one of {', '.join(KERNELS)}, not {choice!r}")
    if choice == "numpy":
        return False
    if importlib.util.find_spec("numba") is None:
        if choice == "numba":
            raise AudiotokError(
                "kernels='numba' needs numba: pip install 'audiotok[fast]' (or kernels='auto', "
                "which uses numpy where numba is missing)"
            )
        return False
    return True


def load(choice: str = "auto") -> Any:
    """The compiled kernels' module for ``choice``, or None for the numpy code. An installed
    numba that does not import (say, built for another numpy) means numpy under ``"auto"``
    and an error under ``"numba"``."""
    if not check(choice):
        return None
    try:
        return importlib.import_module("audiotok.feed.numba_kernels")
    except ImportError as e:
        if choice == "numba":
            raise AudiotokError(
                f"kernels='numba': numba is installed but does not import here ({e}); "
                "reinstall it with pip install -U 'audiotok[fast]', or use kernels='numpy'"
            ) from e
        return None
