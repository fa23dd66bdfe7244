"""Interruptions: Ctrl-C (SIGINT to the process group) and kill -9, repeated to catch races."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import audiotok
from audiotok.store import record as R


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import soundfile as sf

    from audio_fixtures import speechlike

    root = tmp_path_factory.mktemp("sig") / "c"
    for i in range(48):
        p = root / f"s{i % 4}" / f"u{i:02d}.wav"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, speechlike(1.5 + (i % 5) * 0.3, 22050, i), 22050)
    return root


def _start(corpus: Path, out: Path) -> subprocess.Popen:
    args = ["--num-workers", "2", "--shard-size", "2", "--batch-seconds", "3", "-q"]
    return subprocess.Popen(
        [sys.executable, "-m", "audiotok", "encode", str(corpus), "-o", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a job
    )


def _wait_for_shards(out: Path, n: int, p: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        try:
            if len(json.loads((out / R.RECORD).read_text())["shards"]) >= n:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    raise AssertionError("the run ended or stalled before the signal")


def _descendants(pid: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kids.setdefault(int(fields[1]), []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "t"
    r = subprocess.run(
        [sys.executable, "-m", "audiotok", "encode", str(corpus), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    return {k: v.copy() for k, v in audiotok.open_tokens(str(out))}


@pytest.mark.slow
@pytest.mark.parametrize("attempt, second", [(0, False), (1, False), (2, True), (3, False)])
def test_ctrl_c_stops_the_run_with_one_line_and_resumes(
    corpus, reference, tmp_path, attempt, second
):
    out = tmp_path / "t"
    p = _start(corpus, out)
    _wait_for_shards(out, 1 + attempt, p)
    time.sleep(0.05 * attempt)
    os.killpg(p.pid, signal.SIGINT)
    if second:
        time.sleep(0.05)
        os.killpg(p.pid, signal.SIGINT)  # a second Ctrl-C ends it at once
    try:
        _, err = p.communicate(timeout=90)  # a hang guard (a loaded CI box is slow), not timing
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        raise AssertionError("Ctrl-C did not stop the run within 90 s") from None
    # 130, or killed by the second SIGINT itself (a shell shows that as 130 too)
    assert p.returncode == 130 or (second and p.returncode == -signal.SIGINT), err
    left = R.read(out)  # the interrupt took effect before the run's end, not after it
    assert left is not None and len(left.shards) >= 1 + attempt
    assert left.num_utterances < len(reference)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    if not second:
        lines = err.strip().splitlines()
        assert lines[-1].startswith("interrupted") and "resume" in lines[-1], err
        assert sum("interrupted" in ln for ln in lines) == 1, err
    r = subprocess.run(
        [sys.executable, "-m", "audiotok", "encode", str(corpus), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    got = dict(audiotok.open_tokens(str(out)))
    assert got.keys() == reference.keys()
    for k, v in reference.items():
        np.testing.assert_array_equal(got[k], v)
    assert not audiotok.open_tokens(str(out)).verify()


@pytest.mark.parametrize("attempt", [0, 1])
def test_kill_9_leaves_no_worker_behind(corpus, tmp_path, attempt):
    out = tmp_path / "t"
    p = _start(corpus, out)
    _wait_for_shards(out, 1 + attempt, p)
    children = _descendants(p.pid)
    assert children, "the run has worker processes"
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(c) for c in children):
        time.sleep(0.1)
    assert not [c for c in children if _alive(c)], "workers outlived their parent"
