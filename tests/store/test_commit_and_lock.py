"""Progress survives a kill (commits every few seconds of work, not only per full shard), and
the lock is taken before a model loads; a refused run leaves no lock file (#25)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import audiotok
from audiotok.errors import AudiotokError, StoreLockedError
from audiotok.spec import TokenSpec
from audiotok.store import TokenWriter
from audiotok.store.layer import commit_seconds
from audiotok.store.lock import StoreLock, reserve

SPEC = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, weights_sha256="ab")


def test_rows_are_committed_after_the_interval_not_only_when_a_shard_fills(tmp_path):
    w = TokenWriter(tmp_path / "s", SPEC, shard_size=1000, commit_every_s=0.2)
    w.add("a", "a.wav", 0.1, np.zeros((1, 5), int))
    assert len(audiotok.open_tokens(str(tmp_path / "s"))) == 0  # not yet: < 0.2 s
    time.sleep(0.25)
    w.add("b", "b.wav", 0.1, np.ones((1, 5), int))
    assert len(audiotok.open_tokens(str(tmp_path / "s"))) == 2  # before close
    w.close()


def test_the_interval_comes_from_the_environment(monkeypatch):
    assert commit_seconds() == 30.0
    monkeypatch.setenv("AUDIOTOK_COMMIT_SECONDS", "0.5")
    assert commit_seconds() == 0.5 and commit_seconds(2) == 2.0
    monkeypatch.setenv("AUDIOTOK_COMMIT_SECONDS", "soon")
    with pytest.raises(AudiotokError, match="AUDIOTOK_COMMIT_SECONDS"):
        commit_seconds()
    with pytest.raises(AudiotokError, match="more than 0"):
        commit_seconds(0)


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from audiotok.spec import TokenSpec
    from audiotok.store import TokenWriter
    spec = TokenSpec("semantic", "x-km50", 16000, 50.0, 1, 50, layer=6, weights_sha256="ab")
    w = TokenWriter(sys.argv[1], spec)  # shard_size 1000: only time commits here
    for i in range(10_000):
        w.add(f"u{i:05d}", f"u{i}.wav", 0.1, np.full((1, 4), i % 50))
        print(i, flush=True)
        time.sleep(0.02)
    """
)


def test_a_run_killed_before_a_shard_fills_keeps_what_it_finished(tmp_path):
    env = {**os.environ, "AUDIOTOK_COMMIT_SECONDS": "0.3"}
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "s")], env=env,
                         stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert p.stdout is not None
    for _ in range(40):  # >= 0.8 s of work at 20 ms per row
        p.stdout.readline()
    p.send_signal(signal.SIGKILL)
    p.wait()
    ts = audiotok.open_tokens(str(tmp_path / "s"))
    assert len(ts) >= 10  # what the last commit held
    for uid, codes in ts:
        np.testing.assert_array_equal(codes, np.full((1, 4), int(uid[1:]) % 50))
    w = TokenWriter(tmp_path / "s", SPEC)  # the rerun resumes from there
    assert len(w.done_ids) == len(ts)
    w.close()


def test_encode_is_refused_before_its_model_loads(tmp_path, monkeypatch, capsys, small_corpus):
    from audiotok import factory
    from audiotok.cli.app import run

    def no_model(*a, **k):
        raise AssertionError("the model was loaded before the lock was taken")

    monkeypatch.setattr(factory, "tokenizer_for", no_model)
    (tmp_path / "tok").mkdir()
    other = StoreLock(tmp_path / "tok").acquire()  # another writer (its own open file)
    try:
        assert run(["encode", str(small_corpus), "-o", str(tmp_path / "tok"), "-q"]) == 2
        assert "is being written by another audiotok process" in capsys.readouterr().err
    finally:
        other.release()
    assert not (tmp_path / "tok" / ".lock").exists()


def test_a_refused_encode_leaves_no_lock_and_no_folder(tmp_path, capsys, small_corpus):
    from audiotok.cli.app import run

    out = tmp_path / "new"
    code = run(["encode", str(small_corpus), "-o", str(out), "--model", str(tmp_path / "nope")])
    assert code == 2, capsys.readouterr().err
    assert not out.exists()
    (tmp_path / "kept").mkdir()
    run(["encode", str(small_corpus), "-o", str(tmp_path / "kept"), "--model", "nope"])
    assert (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())


def test_the_reserved_lock_is_lent_to_one_writer_at_a_time(tmp_path):
    with reserve(tmp_path / "s"):
        w = TokenWriter(tmp_path / "s", SPEC)
        with pytest.raises(StoreLockedError):
            TokenWriter(tmp_path / "s", SPEC)
        w.close()
        assert (tmp_path / "s" / ".lock").exists()  # still reserved by the command
        TokenWriter(tmp_path / "s", SPEC).close()
    assert not (tmp_path / "s" / ".lock").exists()


def test_export_during_a_write_says_it_exports_the_committed_part(tmp_path, capsys):
    from audiotok.cli.app import run
    from audiotok.store.lock import writer_holding

    w = TokenWriter(tmp_path / "s", SPEC, shard_size=2)
    for i in range(3):  # 2 committed, 1 buffered
        w.add(f"u{i}", f"u{i}.wav", 0.1, np.full((1, 4), i))
    assert writer_holding(tmp_path / "s") is not None
    try:
        assert run(["export", str(tmp_path / "s"), "--to", "nanogpt", "-o",
                    str(tmp_path / "x")]) == 0  # fmt: skip
        err = capsys.readouterr().err
        assert "is being written (pid" in err and "committed so far" in err
    finally:
        w.close()
    assert writer_holding(tmp_path / "s") is None
    run(["export", str(tmp_path / "s"), "--to", "nanogpt", "-o", str(tmp_path / "y")])
    assert "being written" not in capsys.readouterr().err
