"""Where weights live, how they are checked, and the offline error that says what to do.

Cache root: ``$AUDIOTOK_HOME`` (default ``~/.cache/audiotok``); the weights of model NAME
live in ``<root>/NAME/<filename>``. Nothing here touches the network unless asked to by
:func:`download` (``audiotok models download NAME``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from audiotok.errors import ChecksumError, MissingWeightsError
from audiotok.registry import ModelEntry, WeightFile


def cache_root() -> Path:
    return Path(os.environ.get("AUDIOTOK_HOME", Path.home() / ".cache" / "audiotok")).expanduser()


def model_dir(entry: ModelEntry) -> Path:
    return cache_root() / entry.name


def expected_path(entry: ModelEntry, wf: WeightFile) -> Path:
    return model_dir(entry) / wf.filename


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file, remembered in a sidecar keyed by size and mtime (weights are big)."""
    path = Path(path)
    st = path.stat()
    side = path.with_name(path.name + ".sha256.json")
    key = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        cached = json.loads(side.read_text())
        if cached.get("key") == key:
            return str(cached["sha256"])
    except (OSError, ValueError):
        pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    digest = h.hexdigest()
    with contextlib.suppress(OSError):  # read-only location: recompute next time
        side.write_text(json.dumps({"key": key, "sha256": digest}))
    return digest


def verify(path: Path, wf: WeightFile) -> str:
    """Check a file against the published digest; return its full sha256."""
    digest = sha256_file(path)
    want = wf.sha256 or wf.sha256_prefix
    if want and not digest.startswith(want):
        raise ChecksumError(
            f"{path} has sha256 {digest[:16]}..., but {wf.filename} published by its owner has "
            f"{want[:16]}...; the file is corrupt or a different model. Delete it and download "
            f"it again from {wf.url or 'its source'}."
        )
    return digest


def missing_message(entry: ModelEntry, wf: WeightFile) -> str:
    dest = expected_path(entry, wf)
    where = f"from {wf.url}" if wf.url else f"from {entry.source}"
    return (
        f"weights for '{entry.name}' are not on this machine: download {wf.filename} {where} "
        f"and put it at {dest} (or run `audiotok models download {entry.name}` where there is "
        f"network, set AUDIOTOK_HOME, or pass --model PATH / --weights PATH)"
    )


def resolve(
    entry: ModelEntry, wf: WeightFile, override: str | Path | None = None
) -> tuple[Path, str]:
    """Find the weights file and return (path, sha256). Raises before any work is done.

    With ``override`` (a user's --weights/--model PATH) the file is used as given; the published
    checksum applies only when it carries the published file name.
    """
    if override is not None:
        p = Path(override).expanduser()
        if not p.is_file():
            raise MissingWeightsError(f"weights file {p} does not exist")
        if p.name == wf.filename:
            return p, verify(p, wf)
        return p, sha256_file(p)
    p = expected_path(entry, wf)
    if not p.is_file():
        raise MissingWeightsError(missing_message(entry, wf))
    return p, verify(p, wf)


def download(entry: ModelEntry, wf: WeightFile, progress: bool = True) -> Path:
    """Fetch a weights file to the cache, verify it, and move it into place atomically."""
    dest = expected_path(entry, wf)
    if dest.is_file():
        verify(dest, wf)
        return dest
    if not wf.url:
        raise MissingWeightsError(missing_message(entry, wf))
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(wf.url) as resp:  # noqa: S310
            shutil.copyfileobj(resp, out, length=1 << 22)
        verify(Path(tmp), wf)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".sha256.json").unlink(missing_ok=True)
        raise
    side = Path(tmp + ".sha256.json")
    if side.exists():
        side.unlink()
    return dest


def load_state_dict(path: str | Path) -> dict:
    """Load a state dict without unpickling arbitrary objects (safetensors or weights_only)."""
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling refusal reads the same to the user
        from audiotok.errors import UnsafeCheckpointError

        raise UnsafeCheckpointError(
            f"{path} is not a plain tensor checkpoint ({type(e).__name__}: {str(e)[:200]}); "
            "audiotok never unpickles arbitrary objects"
        ) from e


def state_dict_sha256(state: dict) -> str:
    """A canonical fingerprint of in-memory weights (names, shapes, dtypes and values)."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(
            t.view(-1).view_as_real().numpy().tobytes() if t.is_complex() else t.numpy().tobytes()
        )
    return h.hexdigest()
