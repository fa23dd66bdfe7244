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
import urllib.error
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


def sha256_file(path: str | Path, chunk: int = 1 << 22, *, use_cache: bool = True) -> str:
    """sha256 of a file. Weights are big, so a digest is remembered under
    ``<cache root>/checksums/`` (never beside the file), keyed by the file's absolute path,
    size, mtime_ns, inode and device; ``use_cache=False`` always reads the file (and
    refreshes the cache)."""
    path = Path(path)
    st = path.stat()
    key = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino, "dev": st.st_dev}
    record = _checksum_record(path)
    if use_cache:
        try:
            cached = json.loads(record.read_text())
            if cached.get("key") == key and cached.get("path") == str(path.resolve()):
                return str(cached["sha256"])
        except (OSError, ValueError, AttributeError):
            pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    digest = h.hexdigest()
    _write_record(record, {"path": str(path.resolve()), "key": key, "sha256": digest})
    return digest


def _checksum_record(path: Path) -> Path:
    name = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()
    return cache_root() / "checksums" / f"{name}.json"


def _write_record(record: Path, data: dict) -> None:
    """Atomic write; a cache root we may not write is fine (we recompute next time)."""
    with contextlib.suppress(OSError):
        record.parent.mkdir(parents=True, exist_ok=True)
        from audiotok.store.files import atomic_write_bytes

        atomic_write_bytes(record, json.dumps(data).encode())


def verify(path: Path, wf: WeightFile) -> str:
    """Check a file against the published digest (always read in full, never from the cache);
    return its full sha256."""
    digest = sha256_file(path, use_cache=False)
    want = wf.sha256 or wf.sha256_prefix
    if want and not digest.startswith(want):
        raise ChecksumError(
            f"{path} has sha256 {digest[:16]}..., but {wf.filename} published by its owner has "
            f"{want[:16]}...: the file is corrupt or a different model. Delete it and download "
            f"it again from {wf.url or 'its source'}; to use weights of your own, give the file "
            f"any other name than {wf.filename} and pass it with --weights PATH (or --model "
            "PATH): a file with the published name is always checked against the published "
            "checksum."
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


def download(
    entry: ModelEntry, wf: WeightFile, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Fetch a weights file to the cache, verify it, and move it into place atomically.

    Without network: a MissingWeightsError naming the URL and where to put the file by hand.
    """
    dest = expected_path(entry, wf)
    if dest.is_file():
        verify(dest, wf)
        return dest
    if not wf.url:
        raise MissingWeightsError(missing_message(entry, wf))
    dest.parent.mkdir(parents=True, exist_ok=True)
    from audiotok.store.files import new_tmp

    tmp = new_tmp(dest)  # the umask's mode (mkstemp would make the weights 0600)
    try:
        try:
            with (
                open(tmp, "wb") as out,
                urllib.request.urlopen(wf.url, timeout=timeout) as resp,  # noqa: S310
            ):
                shutil.copyfileobj(resp, out, length=1 << 22)
        except (TimeoutError, urllib.error.URLError, ConnectionError) as e:
            reason = getattr(e, "reason", None) or e
            raise MissingWeightsError(
                f"cannot download {wf.url} ({reason}): without network, download it on another "
                f"machine and put it at {dest}"
            ) from None
        verify(Path(tmp), wf)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
