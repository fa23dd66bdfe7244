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


def first_use_record(wf: WeightFile) -> Path:
    """Where the digest of a file without a published checksum is kept after its first use
    (keyed by its URL: the record belongs to the remote file, wherever copies live)."""
    key = wf.url or wf.filename
    name = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()
    return cache_root() / "checksums" / "first-use" / f"{name}.json"


def recorded_digest(wf: WeightFile) -> str:
    """The sha256 recorded on first use ('' if none, or if the record is not ours)."""
    try:
        rec = json.loads(first_use_record(wf).read_text())
    except (OSError, ValueError):
        return ""
    ok = isinstance(rec, dict) and rec.get("url") == wf.url and rec.get("filename") == wf.filename
    digest = rec.get("sha256") if ok else None
    return digest if isinstance(digest, str) and len(digest) == 64 else ""


def verify(path: Path, wf: WeightFile, model: str = "", *, record: bool = True) -> str:
    """Check a file against its digest (always read in full, never from the cache) and
    return its full sha256. The digest is the published one; without one, the one recorded
    on first use; without a record, this file's digest is recorded (``record=False``: not,
    e.g. for a user's own file that carries the published name)."""
    digest = sha256_file(path, use_cache=False)
    want = wf.sha256 or wf.sha256_prefix
    origin = "published by its owner"
    if not want:
        want = recorded_digest(wf)
        origin = f"recorded on its first use ({first_use_record(wf)})"
        if not want:
            if record:
                rec = {"url": wf.url, "filename": wf.filename, "sha256": digest}
                _write_record(first_use_record(wf), rec)
            return digest
    if not digest.startswith(want):
        again = f"`audiotok models download {model}`" if model else "downloading it"
        raise ChecksumError(
            f"{path}: sha256 {digest}, but {wf.filename} should have {want} ({origin}): the "
            f"file is corrupt, truncated or a different model. Delete it and download it again "
            f"with {again} (from {wf.url or 'its source'}); to use weights of your own, give "
            f"the file any other name than {wf.filename} and pass it with --weights PATH (or "
            "--model PATH): a file with the registered name is always checked."
            + (
                ""
                if wf.sha256 or wf.sha256_prefix
                else " If the owner replaced the file on purpose, delete the record too."
            )
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


# File names of every Hugging Face folder: a user's own folder has them too, so carrying one
# does not claim to be the published file.
LAYOUT_NAMES = frozenset({"config.json", "model.safetensors", "pytorch_model.bin"})


def resolve(
    entry: ModelEntry, wf: WeightFile, override: str | Path | None = None
) -> tuple[Path, str]:
    """Find the weights file and return (path, sha256). Raises before any work is done.

    With ``override`` (a user's --weights/--model PATH) the file is used as given; the published
    (or first-use) checksum applies only when it carries the registered file name, unless that
    name is one every Hugging Face folder uses (:data:`LAYOUT_NAMES`).
    """
    if override is not None:
        p = Path(override).expanduser()
        if not p.is_file():
            raise MissingWeightsError(f"weights file {p} does not exist")
        if p.name == wf.filename and p.name not in LAYOUT_NAMES:
            return p, verify(p, wf, entry.name, record=False)
        return p, sha256_file(p)
    p = expected_path(entry, wf)
    if not p.is_file():
        raise MissingWeightsError(missing_message(entry, wf))
    return p, verify(p, wf, entry.name)


def download(
    entry: ModelEntry, wf: WeightFile, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Fetch a weights file to the cache, verify it, and move it into place atomically.

    Without network: a MissingWeightsError naming the URL and where to put the file by hand.
    """
    dest = expected_path(entry, wf)
    if dest.is_file():
        verify(dest, wf, entry.name)
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
        verify(Path(tmp), wf, entry.name)
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
