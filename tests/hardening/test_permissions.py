"""Files and folders this user may not read: "permission denied", never a crash (issue 8).

Tests usually run as root, whom file modes do not stop: the modes are then tested for real in
a forked child that drops to the ``nobody`` user, and the errors are also simulated.
"""

from __future__ import annotations

import json
import os
import select
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audiotok import audio
from audiotok.corpus import scan_with_problems
from audiotok.errors import AudioError

from audio_fixtures import speechlike

NOBODY = 65534


def as_unprivileged(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` as a user file modes apply to: ``nobody`` in a forked child when we are root,
    else this process. Returns what ``fn`` returns (JSON-able) or {"raised": repr}."""

    def call() -> Any:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - handed back to the test
            return {"raised": type(e).__name__, "message": str(e)}

    if os.geteuid() != 0:
        return call()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop privileges, run, report, leave without cleanup handlers
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = json.dumps(call())
        except BaseException as e:  # noqa: BLE001
            out = json.dumps({"raised": type(e).__name__, "message": str(e)})
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            raise AssertionError("the unprivileged child did not answer in 60 s")
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    return json.loads(data)


@pytest.fixture
def shared_dir():
    """A folder others may enter (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="audiotok-perm-"))
    d.chmod(0o755)
    yield d
    for p in sorted(d.rglob("*"), reverse=True):
        p.chmod(0o700)
        p.rmdir() if p.is_dir() and not p.is_symlink() else p.unlink()
    d.rmdir()


def _reason_of(path: Path) -> dict:
    try:
        audio.read(str(path), 16000)
    except AudioError as e:
        return {"reason": e.reason}
    return {"reason": None}


def test_an_unreadable_file_says_permission_denied(shared_dir):
    wav = shared_dir / "secret.wav"
    sf.write(wav, speechlike(0.3), 16000)
    wav.chmod(0o000)
    got = as_unprivileged(lambda: _reason_of(wav))
    assert got["reason"] is not None and got["reason"].startswith("permission denied"), got


def test_permission_errors_from_open_or_libsndfile_say_so(tmp_path, monkeypatch):
    wav = tmp_path / "a.wav"
    sf.write(wav, speechlike(0.3), 16000)

    def denied(*a: Any, **k: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(wav))

    monkeypatch.setattr(audio, "open", denied, raising=False)  # the module's open()
    with pytest.raises(AudioError, match="permission denied"):
        audio.probe(str(wav))
    monkeypatch.undo()
    monkeypatch.setattr(audio.sf, "info", denied)
    with pytest.raises(AudioError, match="permission denied"):
        audio.read(str(wav), 16000)
    monkeypatch.undo()
    monkeypatch.setattr(audio.sf, "read", denied)
    with pytest.raises(AudioError, match="permission denied"):
        audio.read(str(wav), 16000)


def _scan(root: Path) -> dict:
    items, problems = scan_with_problems([root])
    return {"ids": [i.id for i in items], "problems": problems}


def test_an_unreadable_subfolder_is_reported(shared_dir):
    for sub in ("open", "closed"):
        (shared_dir / sub).mkdir()
        sf.write(shared_dir / sub / "u.wav", np.zeros(1600, np.float32), 16000)
    (shared_dir / "closed").chmod(0o000)
    got = as_unprivileged(lambda: _scan(shared_dir))
    assert got["ids"] == ["open/u"]
    assert got["problems"] == [
        [str(shared_dir / "closed"), "cannot list the folder: permission denied"]
    ]


def test_an_unreadable_subfolder_is_reported_simulated(tmp_path, monkeypatch):
    for sub in ("open", "closed"):
        (tmp_path / "c" / sub).mkdir(parents=True)
        sf.write(tmp_path / "c" / sub / "u.wav", np.zeros(1600, np.float32), 16000)
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path).name == "closed":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items, problems = scan_with_problems([tmp_path / "c"])
    assert [i.id for i in items] == ["open/u"]
    closed = str(tmp_path / "c" / "closed")
    assert problems == [(closed, "cannot list the folder: permission denied")]
